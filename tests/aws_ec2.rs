//! `plugin: amazon.aws.aws_ec2` against moto, the EC2 emulator from PyPI, run in server mode on
//! loopback: regions, filters, hostnames, keyed groups, compose (the private IP as
//! `ansible_host`), credentials from the environment and from a shared credentials file profile,
//! instance metadata (IMDSv2), and the endpoint from `endpoint_url`, `AWS_ENDPOINT_URL_EC2` or
//! `AWS_ENDPOINT_URL`.
//!
//! Needs `moto_server`: the file `DEPLOYER_MOTO_SERVER` names, else `.venv-ansible/bin/moto_server`
//! (scripts/test installs it there), else one on `PATH`; without it the tests skip loudly.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Project, skip};

/// A moto server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
    python: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Option<Moto> {
    let repo_venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-ansible/bin/moto_server");
    let server = std::env::var_os("DEPLOYER_MOTO_SERVER")
        .map(PathBuf::from)
        .or_else(|| repo_venv.is_file().then_some(repo_venv))
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|dir| dir.join("moto_server"))
                .find(|path| path.is_file())
        });
    let Some(server) = server else {
        skip(
            "aws",
            "no moto_server (scripts/test installs moto[server] into .venv-ansible)",
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto_server did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let python = server.with_file_name("python");
    Some(Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
        python,
    })
}

/// Starts three tagged instances in eu-west-1 and one untagged in us-east-1 (with boto3, which
/// moto brings along).
const SEED: &str = r#"
import boto3, sys
for region, hosts in [("eu-west-1", [("web-1", "web", "staging"), ("web-2", "web", "staging"),
                                     ("db-1", "db", "staging"), ("old-1", "web", "production")]),
                      ("us-east-1", [("east-1", "web", "staging")])]:
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=sys.argv[1],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    for name, role, env in hosts:
        tags = [{"Key": "Name", "Value": name}, {"Key": "Role", "Value": role}, {"Key": "Env", "Value": env}]
        ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                          TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
"#;

const INVENTORY: &str = "
plugin: amazon.aws.aws_ec2
regions: [eu-west-1, us-east-1]
filters:
  tag:Env: staging
hostnames:
  - tag:Name
keyed_groups:
  - key: tags.Role
    prefix: role
  - key: placement.availability_zone
    prefix: az
groups:
  databases: \"tags.Role == 'db'\"
compose:
  ansible_host: private_ip_address
";

fn list(project: &Project, env: &[(&str, &str)]) -> Value {
    let out = project.run_env(&["inventory", "-i", "hosts.aws_ec2.yml", "--list"], env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn ec2_instances_are_hosts_grouped_and_composed_like_ansibles_plugin() {
    let Some(moto) = moto() else { return };
    let seeded = Command::new(&moto.python)
        .args(["-c", SEED, &moto.url])
        .output()
        .unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let project = Project::new()
        .file(
            "hosts.aws_ec2.yml",
            &format!("{INVENTORY}endpoint_url: {}\n", moto.url),
        )
        .file(
            "aws/credentials",
            "[deploy]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        );
    let keys = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let ours = list(&project, &keys);
    let mut hosts: Vec<&str> = (ours["aws_ec2"]["hosts"].as_array().unwrap().iter())
        .map(|h| h.as_str().unwrap())
        .collect();
    hosts.sort();
    assert_eq!(
        hosts,
        ["db-1", "east-1", "web-1", "web-2"],
        "the filter left out old-1"
    );
    assert_eq!(
        ours["role_web"]["hosts"],
        json!(["web-1", "web-2", "east-1"])
    );
    assert_eq!(ours["databases"]["hosts"], json!(["db-1"]));
    assert!(ours["az_us_east_1a"]["hosts"].is_array(), "{ours}");
    let web = &ours["_meta"]["hostvars"]["web-1"];
    assert_eq!(web["ansible_host"], web["private_ip_address"]);
    assert!(
        web["ansible_host"].as_str().unwrap().starts_with("10."),
        "{web}"
    );
    assert_eq!(web["tags"]["Role"], "web");
    assert_eq!(web["state"]["name"], "running");
    assert!(web["instance_id"].as_str().unwrap().starts_with("i-"));

    // A profile from a shared credentials file, and the endpoint from the environment.
    let project = project.file(
        "hosts.aws_ec2.yml",
        &format!("{INVENTORY}profile: deploy\n"),
    );
    let credentials = project.join("aws/credentials");
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ("AWS_ENDPOINT_URL_EC2", moto.url.as_str()),
        ("AWS_CONFIG_FILE", "/nonexistent"),
    ];
    assert_eq!(list(&project, &env)["databases"]["hosts"], json!(["db-1"]));
    let out = project.run_env(&["inventory", "-i", "hosts.aws_ec2.yml", "--graph"], &env);
    assert!(
        out.stdout.contains("@role_db:\n  |  |--db-1"),
        "{}",
        out.stdout
    );

    // The instance role's keys from the metadata service (moto answers IMDSv2 too).
    let project = project.file("hosts.aws_ec2.yml", INVENTORY);
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_ENDPOINT_URL", moto.url.as_str()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", moto.url.as_str()),
    ];
    assert_eq!(list(&project, &env)["databases"]["hosts"], json!(["db-1"]));

    // No credentials at all: a clear error, not a request.
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let out = project.run_env(&["inventory", "-i", "hosts.aws_ec2.yml", "--list"], &env);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains("no AWS credentials"), "{}", out.stderr);
}

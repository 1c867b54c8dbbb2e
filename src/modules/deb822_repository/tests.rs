use serde_json::json;

use super::*;
use crate::modules::testing::{FakeHost, args, run_on};

/// The fields a task's arguments make, as the module writes them.
fn fields_of(given: Value) -> String {
    let args = SPEC.normalise(&args(given)).unwrap();
    let fields: Vec<(String, String)> = (SPEC.args.iter())
        .filter(|a| !NOT_FIELDS.contains(&a.name))
        .filter_map(|a| Some((field_name(a.name), field_value(args.get(a.name)?)?)))
        .collect();
    render(&fields)
}

// The expected texts are python-debian's `Deb822.dump` of ansible-core 2.19's fields.
#[test]
fn every_field_is_written_in_ansibles_order_and_form() {
    let given = json!({
        "name": "Example Repo", "types": ["deb", "deb-src"],
        "uris": ["http://a.example/debian", "https://b.example/x"],
        "suites": ["bookworm", "bookworm-updates"], "components": "main,contrib",
        "architectures": ["amd64"], "enabled": true, "trusted": false, "date_max_future": 10,
        "signed_by": "/usr/share/keyrings/x.gpg", "allow_downgrade_to_insecure": true,
        "by_hash": false, "check_valid_until": true, "inrelease_path": "p",
        "languages": ["en", "de"], "targets": ["t"], "pdiffs": true, "allow_insecure": false,
        "allow_weak": true, "check_date": false,
    });
    assert_eq!(
        fields_of(given),
        "Allow-Downgrade-To-Insecure: yes\nAllow-Insecure: no\nAllow-Weak: yes\n\
         Architectures: amd64\nBy-Hash: no\nCheck-Date: no\nCheck-Valid-Until: yes\n\
         Components: main contrib\nDate-Max-Future: 10\nEnabled: yes\nInrelease-Path: p\n\
         Languages: en de\nX-Repolib-Name: Example Repo\nPdiffs: yes\n\
         Signed-By: /usr/share/keyrings/x.gpg\nSuites: bookworm bookworm-updates\nTargets: t\n\
         Trusted: no\nTypes: deb deb-src\nURIs: http://a.example/debian https://b.example/x\n"
    );
}

#[test]
fn multi_line_and_empty_values_are_folded_as_python_debian_does() {
    let key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n  mQENBF  \nabc\n\n=xyz\n\
               -----END PGP PUBLIC KEY BLOCK-----\n";
    let given = json!({"name": "inline", "types": ["deb"], "uris": ["http://x"],
                       "suites": ["./"], "signed_by": key});
    assert_eq!(
        fields_of(given),
        "X-Repolib-Name: inline\nSigned-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n\
         \x20   mQENBF\n    abc\n    .\n    =xyz\n    -----END PGP PUBLIC KEY BLOCK-----\n\
         Suites: ./\nTypes: deb\nURIs: http://x\n"
    );
    let given = json!({"name": "x", "types": ["deb"], "suites": ["a\nb"], "uris": []});
    assert_eq!(
        fields_of(given),
        "X-Repolib-Name: x\nSuites:\n    a\n    b\nTypes: deb\nURIs:\n"
    );
}

#[test]
fn names_schemes_and_types_are_read_as_ansible_reads_them() {
    assert_eq!(slug("My_Repo  2.0 (Test)"), "my-repo-20-test");
    assert_eq!(slug("Docker CE"), "docker-ce");
    assert_eq!(field_name("date_max_future"), "Date-Max-Future");
    assert!(has_scheme("https://x/key.asc") && has_scheme("file:/k"));
    assert!(!has_scheme("-----BEGIN PGP") && !has_scheme("/etc/k.gpg") && !has_scheme("1x:y"));
    let bad = args(json!({"types": ["deb", "rpm"]}));
    assert_eq!(
        check_types(&bad).unwrap_err().to_string(),
        "value of types must be one or more of: deb, deb-src. Got no match for: rpm"
    );
}

#[tokio::test]
async fn a_new_source_is_written_with_the_default_type_and_mode() {
    let host = FakeHost::new().reply("probe", "22\0absent\0\0\0", 0);
    let given = json!({"name": "Natives", "uris": "http://x.example/debian",
                       "suites": "bookworm", "components": "main"});
    let result = run_on(&Deb822Repository, args(given), &host, true).await;
    assert!(result.changed && !result.failed, "{result:?}");
    assert_eq!(
        result.data["repo"],
        "Components: main\nX-Repolib-Name: Natives\nSuites: bookworm\nTypes: deb\n\
         URIs: http://x.example/debian\n"
    );
    assert_eq!(
        result.data["dest"],
        "/etc/apt/sources.list.d/natives.sources"
    );
    assert_eq!(result.data["key_filename"], Value::Null);
    assert!(host.changes().is_empty(), "{:?}", host.changes());
}

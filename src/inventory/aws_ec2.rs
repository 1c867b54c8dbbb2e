//! `plugin: amazon.aws.aws_ec2`: the instances of EC2 regions as hosts, with the options of
//! Ansible's plugin: `regions`, `filters`, `hostnames`, and the `constructed` ones (`compose`,
//! `groups`, `keyed_groups`, `strict`). Every host is in the group `aws_ec2`; its variables are the
//! instance's attributes in snake_case (`instance_id`, `private_ip_address`, `tags`, ...), as the
//! plugin names them. Behind a bastion: `compose: {ansible_host: private_ip_address}`.
//!
//! Credentials are found as the AWS CLI finds them: the plugin's `access_key`/`secret_key`/
//! `session_token`, the `AWS_*` environment, then the shared credentials and config files
//! (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`) for the profile (`profile`/`aws_profile`,
//! `AWS_PROFILE`, else `default`), then the instance role from the metadata service (IMDSv2,
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT`, off with `AWS_EC2_METADATA_DISABLED=true`). The endpoint is `endpoint_url`, else `AWS_ENDPOINT_URL_EC2`, else
//! `AWS_ENDPOINT_URL`, else EC2's own. Requests are DescribeInstances calls of the EC2 Query API,
//! signed with `aws-sigv4`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::SystemTime;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::constructed::{Constructed, inert};
use super::graph::Graph;

/// The EC2 Query API version spoken.
const API_VERSION: &str = "2016-11-15";

/// The plugin's options.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Options {
    regions: Vec<String>,
    filters: IndexMap<String, Value>,
    hostnames: Vec<Value>,
    endpoint_url: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
    session_token: Option<String>,
    #[serde(alias = "aws_profile")]
    profile: Option<String>,
    #[serde(flatten)]
    constructed: Constructed,
}

/// Access keys.
struct Keys {
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
}

/// Reads the instances of every region into `graph`, then applies the constructed options.
pub(super) fn read(options: Value, graph: &mut Graph) -> Result<(), String> {
    let options: Options = serde_json::from_value(options).map_err(|e| format!("aws_ec2: {e}"))?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let profile = (options.profile.clone())
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    let files = SharedFiles::load(&profile, &env);
    let keys = keys(&options, &files, &env)?;
    let regions = match options.regions.as_slice() {
        [] => vec![
            (env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")))
                .or_else(|| files.config.get("region").cloned())
                .ok_or("aws_ec2: no `regions`, and no AWS_REGION or profile region")?,
        ],
        regions => regions.to_vec(),
    };
    graph.add_group("aws_ec2");
    for region in &regions {
        let endpoint = (options.endpoint_url.clone())
            .or_else(|| env("AWS_ENDPOINT_URL_EC2"))
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://ec2.{region}.amazonaws.com"));
        for instance in describe_instances(&endpoint, region, &keys, &options.filters)? {
            let Some(name) = hostname(&instance, &options.hostnames) else {
                continue;
            };
            let mut vars = Value::Object(instance);
            inert(&mut vars);
            graph.add_host(&name, "aws_ec2");
            if let Value::Object(vars) = vars {
                graph.hosts[name.as_str()].vars.extend(vars);
            }
        }
    }
    options.constructed.apply(graph)
}

/// The first of the `hostnames` preferences the instance has (default: `dns-name`, then
/// `private-dns-name`).
fn hostname(instance: &Map<String, Value>, preferences: &[Value]) -> Option<String> {
    let defaults = [Value::from("dns-name"), Value::from("private-dns-name")];
    let preferences = if preferences.is_empty() {
        &defaults[..]
    } else {
        preferences
    };
    preferences.iter().find_map(|preference| {
        let (name, prefix, separator) = match preference {
            Value::String(name) => (name.as_str(), None, "_"),
            Value::Object(map) => (
                map.get("name")?.as_str()?,
                map.get("prefix").and_then(Value::as_str),
                map.get("separator").and_then(Value::as_str).unwrap_or("_"),
            ),
            _ => return None,
        };
        let value = attribute(instance, name).filter(|v| !v.is_empty())?;
        let prefix = prefix.and_then(|p| attribute(instance, p));
        Some(match prefix {
            Some(prefix) => format!("{prefix}{separator}{value}"),
            None => value,
        })
    })
}

/// An instance attribute by its filter name (`private-ip-address`, `tag:Name`, ...).
fn attribute(instance: &Map<String, Value>, name: &str) -> Option<String> {
    if let Some(tag) = name.strip_prefix("tag:") {
        return instance.get("tags")?.get(tag)?.as_str().map(str::to_string);
    }
    let key = match name {
        "dns-name" | "public-dns-name" => "public_dns_name",
        "ip-address" | "public-ip-address" => "public_ip_address",
        "private-ip-address" | "network-interface.addresses.private-ip-address" => {
            "private_ip_address"
        }
        "private-dns-name" => "private_dns_name",
        "instance-id" => "instance_id",
        other => {
            return instance
                .get(&other.replace('-', "_"))?
                .as_str()
                .map(str::to_string);
        }
    };
    instance.get(key)?.as_str().map(str::to_string)
}

fn keys(
    options: &Options,
    files: &SharedFiles,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Keys, String> {
    if let (Some(access_key), Some(secret_key)) = (&options.access_key, &options.secret_key) {
        return Ok(Keys {
            access_key: access_key.clone(),
            secret_key: secret_key.clone(),
            session_token: options.session_token.clone(),
        });
    }
    if options.profile.is_none()
        && let (Some(access_key), Some(secret_key)) =
            (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
    {
        return Ok(Keys {
            access_key,
            secret_key,
            session_token: env("AWS_SESSION_TOKEN"),
        });
    }
    let from = |map: &HashMap<String, String>| {
        Some(Keys {
            access_key: map.get("aws_access_key_id")?.clone(),
            secret_key: map.get("aws_secret_access_key")?.clone(),
            session_token: map.get("aws_session_token").cloned(),
        })
    };
    if let Some(keys) = from(&files.credentials).or_else(|| from(&files.config)) {
        return Ok(keys);
    }
    let disabled = env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let metadata = (!disabled).then(|| {
        let endpoint = env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or_else(|| "http://169.254.169.254".into());
        instance_metadata_keys(endpoint.trim_end_matches('/'))
    });
    metadata.flatten().ok_or_else(|| {
        format!(
            "aws_ec2: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give \
             profile `{}` keys in ~/.aws/credentials, or run on an instance with a role",
            files.profile
        )
    })
}

/// The instance role's keys from the instance metadata service (IMDSv2), or `None` when there is
/// no such service (not on EC2) within a second.
fn instance_metadata_keys(endpoint: &str) -> Option<Keys> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(1)))
        .build()
        .into();
    let token = agent
        .put(&format!("{endpoint}/latest/api/token"))
        .header("x-aws-ec2-metadata-token-ttl-seconds", "300")
        .send_empty()
        .ok()?
        .body_mut()
        .read_to_string()
        .ok()?;
    let get = |path: &str| {
        agent
            .get(&format!(
                "{endpoint}/latest/meta-data/iam/security-credentials/{path}"
            ))
            .header("x-aws-ec2-metadata-token", &token)
            .call()
            .ok()?
            .body_mut()
            .read_to_string()
            .ok()
    };
    let role = get("")?;
    let keys: Value = serde_json::from_str(&get(role.lines().next()?.trim())?).ok()?;
    Some(Keys {
        access_key: keys["AccessKeyId"].as_str()?.to_string(),
        secret_key: keys["SecretAccessKey"].as_str()?.to_string(),
        session_token: keys["Token"].as_str().map(str::to_string),
    })
}

/// The profile's sections of `~/.aws/credentials` and `~/.aws/config`.
struct SharedFiles {
    profile: String,
    credentials: HashMap<String, String>,
    config: HashMap<String, String>,
}

impl SharedFiles {
    fn load(profile: &str, env: &dyn Fn(&str) -> Option<String>) -> SharedFiles {
        let home = env("HOME").map(PathBuf::from).unwrap_or_default();
        let path = |var: &str, default: &str| {
            env(var).map_or_else(|| home.join(".aws").join(default), PathBuf::from)
        };
        let config_section = match profile {
            "default" => "default".to_string(),
            name => format!("profile {name}"),
        };
        SharedFiles {
            profile: profile.to_string(),
            credentials: section(&path("AWS_SHARED_CREDENTIALS_FILE", "credentials"), profile),
            config: section(&path("AWS_CONFIG_FILE", "config"), &config_section),
        }
    }
}

/// One section of an INI file (empty when the file or section is missing).
fn section(path: &std::path::Path, name: &str) -> HashMap<String, String> {
    let mut ini = configparser::ini::Ini::new();
    ini.load(path)
        .ok()
        .and_then(|mut map| map.remove(name))
        .map(|keys| {
            keys.into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Every page of DescribeInstances in one region, as instance variable maps.
fn describe_instances(
    endpoint: &str,
    region: &str,
    keys: &Keys,
    filters: &IndexMap<String, Value>,
) -> Result<Vec<Map<String, Value>>, String> {
    let mut params = vec![
        ("Action".to_string(), "DescribeInstances".to_string()),
        ("Version".to_string(), API_VERSION.to_string()),
    ];
    let mut filters = filters.clone();
    filters
        .entry("instance-state-name".into())
        .or_insert_with(|| Value::from(vec!["running", "pending", "stopping", "stopped"]));
    for (i, (name, values)) in filters.iter().enumerate() {
        params.push((format!("Filter.{}.Name", i + 1), name.clone()));
        let values = match values {
            Value::Array(values) => values.clone(),
            other => vec![other.clone()],
        };
        for (j, value) in values.iter().enumerate() {
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            params.push((format!("Filter.{}.Value.{}", i + 1, j + 1), text));
        }
    }
    let mut instances = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut page = params.clone();
        page.extend(token.take().map(|t| ("NextToken".to_string(), t)));
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&page)
            .finish();
        let response = post(endpoint, region, keys, &body)?;
        let root = xml_to_json(&response)?;
        for reservation in items(root.get("reservationSet")) {
            for instance in items(reservation.get("instancesSet")) {
                instances.push(instance_vars(instance));
            }
        }
        token = root
            .get("nextToken")
            .and_then(Value::as_str)
            .map(str::to_string);
        if token.as_deref().is_none_or(str::is_empty) {
            return Ok(instances);
        }
    }
}

/// The elements of an XML list (`<xSet><item>...</item></xSet>`).
fn items(list: Option<&Value>) -> impl Iterator<Item = &Value> {
    list.and_then(Value::as_array).into_iter().flatten()
}

/// A signed POST of the Query API; the response's text, or the service's error.
fn post(endpoint: &str, region: &str, keys: &Keys, body: &str) -> Result<String, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let identity = aws_credential_types::Credentials::new(
        &keys.access_key,
        &keys.secret_key,
        keys.session_token.clone(),
        None,
        "deployer",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ec2")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("aws_ec2: signing: {e}"))?
        .into();
    let headers = [("content-type", content_type)];
    let request = SignableRequest::new(
        "POST",
        endpoint,
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| format!("aws_ec2: {endpoint}: {e}"))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| format!("aws_ec2: signing: {e}"))?
        .into_parts();
    let mut call = ureq::post(endpoint).header("content-type", content_type);
    for (name, value) in instructions.headers() {
        call = call.header(name, value);
    }
    let agent_error = |e: ureq::Error| format!("aws_ec2: {endpoint}: {e}");
    let mut response = call
        .config()
        .http_status_as_error(false)
        .build()
        .send(body)
        .map_err(agent_error)?;
    let status = response.status();
    let text = response.body_mut().read_to_string().map_err(agent_error)?;
    if !status.is_success() {
        let message = xml_to_json(&text)
            .ok()
            .and_then(|e| e.pointer("/Errors/Error/Message").cloned())
            .map_or(text.clone(), |m| m.as_str().unwrap_or_default().to_string());
        return Err(format!(
            "aws_ec2: DescribeInstances in {region}: {status}: {message}"
        ));
    }
    Ok(text)
}

/// An instance's attributes as Ansible's plugin names them: snake_case, `tags` as a mapping,
/// `public_ip_address`, `public_dns_name` and `state` for the API's `ipAddress`, `dnsName` and
/// `instanceState`, `xSet` lists as plurals.
fn instance_vars(instance: &Value) -> Map<String, Value> {
    let Some(fields) = instance.as_object() else {
        return Map::new();
    };
    let mut vars = Map::new();
    for (key, value) in fields {
        let (name, value) = match key.as_str() {
            "tagSet" => {
                let tags = items(Some(value))
                    .filter_map(|t| Some((t["key"].as_str()?.to_string(), t["value"].clone())))
                    .collect::<Map<_, _>>();
                ("tags".to_string(), Value::Object(tags))
            }
            "ipAddress" => ("public_ip_address".into(), value.clone()),
            "dnsName" => ("public_dns_name".into(), value.clone()),
            "instanceState" => ("state".into(), snake_keys(value)),
            "groupSet" => ("security_groups".into(), snake_keys(value)),
            other => match other.strip_suffix("Set") {
                Some(list) => (format!("{}s", snake(list)), snake_keys(value)),
                None => (snake(other), snake_keys(value)),
            },
        };
        vars.insert(name, value);
    }
    vars.entry("tags")
        .or_insert_with(|| Value::Object(Map::new()));
    vars
}

fn snake_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (snake(k), snake_keys(v))).collect(),
        Value::Array(items) => items.iter().map(snake_keys).collect(),
        other => other.clone(),
    }
}

/// `privateIpAddress` → `private_ip_address`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// An open XML element while reading: its name, its children so far, its text.
type Element = (String, Vec<(String, Value)>, String);

/// An EC2 XML response as JSON: an element holding only text is a string, one holding `item`
/// elements a list, any other an object (an empty one: an empty string).
fn xml_to_json(text: &str) -> Result<Value, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = vec![(String::new(), Vec::new(), String::new())];
    let bad = |e: &dyn std::fmt::Display| format!("aws_ec2: unreadable response: {e}");
    loop {
        match reader.read_event().map_err(|e| bad(&e))? {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                stack.push((name, Vec::new(), String::new()));
            }
            Event::Empty(empty) => {
                let name = String::from_utf8_lossy(empty.local_name().as_ref()).into_owned();
                if let Some(parent) = stack.last_mut() {
                    parent.1.push((name, Value::String(String::new())));
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&t.decode().map_err(|e| bad(&e))?);
                }
            }
            Event::GeneralRef(r) => {
                let entity = format!("&{};", r.decode().map_err(|e| bad(&e))?);
                let text = quick_xml::escape::unescape(&entity).map_err(|e| bad(&e))?;
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&text);
                }
            }
            Event::End(_) => {
                let (name, children, text) = stack.pop().ok_or("aws_ec2: unbalanced XML")?;
                let value = if children.is_empty() {
                    Value::String(text.trim().to_string())
                } else if children.iter().all(|(n, _)| n == "item") {
                    Value::Array(children.into_iter().map(|(_, v)| v).collect())
                } else {
                    Value::Object(children.into_iter().collect())
                };
                stack
                    .last_mut()
                    .ok_or("aws_ec2: unbalanced XML")?
                    .1
                    .push((name, value));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let (_, mut top, _) = stack.pop().ok_or("aws_ec2: empty response")?;
    top.pop()
        .map(|(_, v)| v)
        .ok_or_else(|| "aws_ec2: empty response".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_become_ansible_host_vars() {
        let xml = r#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <reservationSet><item><instancesSet><item>
            <instanceId>i-1</instanceId><privateIpAddress>10.0.0.5</privateIpAddress>
            <ipAddress>203.0.113.9</ipAddress><dnsName/>
            <instanceState><code>16</code><name>running</name></instanceState>
            <tagSet><item><key>Name</key><value>a&amp;b</value></item></tagSet>
          </item></instancesSet></item></reservationSet></DescribeInstancesResponse>"#;
        let root = xml_to_json(xml).unwrap();
        let instance =
            instance_vars(&items(root.get("reservationSet")).next().unwrap()["instancesSet"][0]);
        assert_eq!(instance["instance_id"], "i-1");
        assert_eq!(instance["public_ip_address"], "203.0.113.9");
        assert_eq!(instance["state"]["name"], "running");
        assert_eq!(instance["tags"]["Name"], "a&b");
        let prefs = [Value::from("dns-name"), Value::from("tag:Name")];
        assert_eq!(hostname(&instance, &prefs).as_deref(), Some("a&b"));
        let prefs = [serde_json::json!({"name": "private-ip-address", "prefix": "instance-id"})];
        assert_eq!(hostname(&instance, &prefs).as_deref(), Some("i-1_10.0.0.5"));
    }
}

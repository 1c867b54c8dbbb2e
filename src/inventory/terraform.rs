//! A Terraform state as an inventory: every `aws_instance` in a `terraform.tfstate` (format 4) or
//! in `terraform show -json` output becomes a host, named by its `Name` tag (else its id), in a
//! `tag_KEY_VALUE` group per tag (as `aws_ec2`'s usual `keyed_groups: [{key: tags, prefix: tag}]`
//! names them). `ansible_host` is the public IP, else the private one; both are variables, so a
//! `constructed` file can choose (`compose: {ansible_host: private_ip}` behind a bastion).

use serde_json::{Map, Value};

use super::constructed::{inert, safe_group_name};
use super::graph::{Graph, UNGROUPED};

/// The instance attributes kept as host variables.
const KEPT: [&str; 11] = [
    "id",
    "ami",
    "instance_type",
    "availability_zone",
    "subnet_id",
    "vpc_security_group_ids",
    "private_ip",
    "public_ip",
    "private_dns",
    "public_dns",
    "tags",
];

/// Whether a JSON document is a Terraform state or `terraform show -json` output.
pub(super) fn is_state(json: &Value) -> bool {
    json.get("terraform_version").is_some()
        && (json.get("resources").is_some()
            || json.get("values").is_some()
            || json.get("format_version").is_some())
}

/// Adds the state's `aws_instance`s to `graph`.
pub(super) fn read(state: &Value, graph: &mut Graph) -> Result<(), String> {
    let mut instances = Vec::new();
    if let Some(resources) = state.get("resources").and_then(Value::as_array) {
        for resource in resources.iter().filter(|r| is_instance(r)) {
            let address = address(resource);
            for (i, instance) in
                (resource["instances"].as_array().into_iter().flatten()).enumerate()
            {
                let key = instance
                    .get("index_key")
                    .map_or(i.to_string(), |k| k.to_string());
                instances.push((format!("{address}[{key}]"), &instance["attributes"]));
            }
        }
    } else if let Some(root) = state.get("values").and_then(|v| v.get("root_module")) {
        collect_shown(root, &mut instances);
    } else if state
        .get("version")
        .and_then(Value::as_u64)
        .is_some_and(|v| v < 4)
    {
        return Err("only Terraform state format 4 is read (Terraform 0.12 and later)".into());
    }
    for (address, attributes) in instances {
        add_instance(graph, &address, attributes)?;
    }
    Ok(())
}

fn is_instance(resource: &Value) -> bool {
    resource["type"] == "aws_instance" && resource["mode"] != "data"
}

/// A state resource's address: `module.x.aws_instance.name`.
fn address(resource: &Value) -> String {
    let name = format!("aws_instance.{}", resource["name"].as_str().unwrap_or("?"));
    match resource.get("module").and_then(Value::as_str) {
        Some(module) => format!("{module}.{name}"),
        None => name,
    }
}

/// The `aws_instance`s of a `terraform show -json` module and its children.
fn collect_shown<'a>(module: &'a Value, found: &mut Vec<(String, &'a Value)>) {
    for resource in module["resources"].as_array().into_iter().flatten() {
        if is_instance(resource) {
            let address = resource["address"]
                .as_str()
                .unwrap_or("aws_instance")
                .to_string();
            found.push((address, &resource["values"]));
        }
    }
    for child in module["child_modules"].as_array().into_iter().flatten() {
        collect_shown(child, found);
    }
}

fn add_instance(graph: &mut Graph, address: &str, attributes: &Value) -> Result<(), String> {
    let text = |key: &str| attributes[key].as_str().filter(|s| !s.is_empty());
    let name = (attributes["tags"]["Name"].as_str())
        .or(text("id"))
        .ok_or_else(|| format!("{address}: no Name tag and no id"))?
        .to_string();
    let tags = attributes["tags"].as_object().cloned().unwrap_or_default();
    let groups: Vec<String> = (tags.iter())
        .map(|(key, value)| {
            safe_group_name(&format!("tag_{key}_{}", value.as_str().unwrap_or_default()))
        })
        .collect();
    if groups.is_empty() {
        graph.add_host(&name, UNGROUPED);
    }
    for group in &groups {
        graph.add_host(&name, group);
    }
    let mut vars: Map<String, Value> = (KEPT.iter())
        .filter_map(|key| Some((key.to_string(), attributes.get(*key)?.clone())))
        .collect();
    vars.insert("terraform_address".into(), address.into());
    if let Some(host) = text("public_ip").or(text("private_ip")) {
        vars.insert("ansible_host".into(), host.into());
    }
    let mut vars = Value::Object(vars);
    inert(&mut vars);
    if let Value::Object(vars) = vars {
        graph.hosts[name.as_str()].vars.extend(vars);
    }
    Ok(())
}

//! The SSH transport against the Docker test fleet (`vagrant/fleet up`): the bastion on
//! 127.0.0.1:2222 and app hosts reachable only through it, driven by the inventory the fleet
//! writes. Skipped, loudly, unless `FLEET_INVENTORY` names that inventory
//! (`eval "$(vagrant/fleet env)"`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::transport::{Become, ConnectOptions, Connector, ExecRequest, TransportError};

/// The fleet's group variables and app host names, or `None` when the fleet is not up.
fn fleet() -> Option<(Map<String, Value>, Vec<String>)> {
    let Some(path) = std::env::var_os("FLEET_INVENTORY") else {
        eprintln!("SKIPPED: FLEET_INVENTORY is not set (eval \"$(vagrant/fleet env)\")");
        return None;
    };
    let text = std::fs::read_to_string(&path).expect("the fleet inventory is readable");
    let inventory: Value = serde_saphyr::from_str(&text).expect("the fleet inventory parses");
    let vars = inventory["all"]["vars"]
        .as_object()
        .expect("all.vars")
        .clone();
    let hosts = inventory["all"]["children"]["app"]["hosts"]
        .as_object()
        .expect("app hosts")
        .keys()
        .cloned()
        .collect();
    Some((vars, hosts))
}

fn options() -> ConnectOptions {
    ConnectOptions {
        credentials: super::Credentials::default(),
        ..ConnectOptions::default()
    }
}

#[tokio::test]
async fn every_app_host_answers_through_the_bastion() {
    let Some((vars, hosts)) = fleet() else { return };
    let connector = Arc::new(Connector::new(options()));
    let connects: Vec<_> = hosts
        .iter()
        .map(|host| {
            let (connector, vars, host) = (connector.clone(), vars.clone(), host.clone());
            tokio::spawn(async move { connector.connect(&host, &vars).await })
        })
        .collect();
    for (connect, host) in connects.into_iter().zip(&hosts) {
        let transport = connect.await.unwrap().unwrap();
        assert!(
            transport
                .describe()
                .starts_with(&format!("deploy@{host}:22 via deploy@127.0.0.1:2222"))
        );
        let out = transport
            .exec(ExecRequest::new("hostname; id -un"))
            .await
            .unwrap();
        assert_eq!(out.stdout_text(), format!("{host}\ndeploy\n"));
        let mut root = ExecRequest::new("id -u");
        root.become_user = Some(Become {
            user: "root".into(),
            password: None,
        });
        assert_eq!(transport.exec(root).await.unwrap().stdout_text(), "0\n");
    }
    connector.shutdown().await;
}

#[tokio::test]
async fn commands_in_parallel_and_timeouts_on_a_fleet_host() {
    let Some((vars, hosts)) = fleet() else { return };
    let transport = Connector::new(options())
        .connect(&hosts[0], &vars)
        .await
        .unwrap();
    let runs: Vec<_> = (0..20)
        .map(|i| {
            let transport = transport.clone();
            tokio::spawn(async move { transport.exec(ExecRequest::new(format!("echo {i}"))).await })
        })
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        assert_eq!(run.await.unwrap().unwrap().stdout_text(), format!("{i}\n"));
    }
    // As a non-root login, the kill also goes through sshd's `signal` request.
    for _ in 0..10 {
        let mut slow = ExecRequest::new("sleep 41");
        slow.timeout = Some(Duration::from_millis(200));
        assert!(matches!(
            transport.exec(slow).await,
            Err(TransportError::Timeout(_))
        ));
    }
    // The host kills each command a second or two after its limit: wait up to 10 s for that.
    let left = transport
        .exec(ExecRequest::new(
            "i=0; while pgrep -f '[s]leep 41' >/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; \
             pgrep -c -f '[s]leep 41' || true",
        ))
        .await
        .unwrap();
    assert_eq!(left.stdout_text(), "0\n");
}

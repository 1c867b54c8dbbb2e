//! Fuzzes the YAML → program → plan path: any bytes as a playbook either compile (and then plan)
//! or give located diagnostics that render; nothing may panic or hang.
//! Run: `cargo +nightly fuzz run compile fuzz/seeds` (see the README's Testing section).

#![no_main]

use std::sync::LazyLock;

use deployer::compile::{Vars, compile};
use deployer::inventory::Inventory;
use deployer::plan::{Limit, TagFilter};
use deployer::template::Templater;
use deployer::vault::Vault;
use libfuzzer_sys::fuzz_target;

/// Hosts `a`, `b` in group `app`, `c` ungrouped: what the playbook's patterns are matched to.
static INVENTORY: LazyLock<Inventory> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("a temp folder");
    let path = dir.path().join("inv.ini");
    std::fs::write(&path, "c\n[app]\na\nb\n").expect("write the inventory");
    Inventory::load(&path).expect("the inventory loads")
});

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temp folder");
    let playbook = dir.path().join("site.yml");
    std::fs::write(&playbook, data).expect("write the playbook");
    match compile(&playbook, Vars::new(), &Templater::new(), &Vault::default()) {
        Ok((program, _warnings)) => {
            let plan = deployer::plan::build(
                &program,
                &INVENTORY,
                &Limit::new(&INVENTORY, None),
                &TagFilter::default(),
            );
            let _ = deployer::plan::render_text(&plan);
        }
        Err(diagnostics) => {
            assert!(!diagnostics.0.is_empty(), "an error without a diagnostic");
            for diagnostic in &diagnostics.0 {
                assert!(diagnostic.span.line >= 1 && diagnostic.span.column >= 1);
                let _ = diagnostic.to_string();
            }
        }
    }
});

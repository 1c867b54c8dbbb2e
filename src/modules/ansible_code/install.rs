//! Where Ansible's own code is on the controller: ansible-core's `ansible` package (found through
//! the Python that runs `ansible-playbook`), and the folders holding `ansible_collections`
//! (`collections_path` of ansible.cfg or `ANSIBLE_COLLECTIONS_PATH`, else Ansible's defaults, then
//! the collections installed beside ansible-core, as `pip install ansible` puts them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

/// Ansible's code on this controller.
#[derive(Debug, Default)]
pub struct Installation {
    /// ansible-core's `ansible` package folder.
    pub core: Option<PathBuf>,
    /// Folders holding an `ansible_collections` folder, searched in order.
    pub collection_roots: Vec<PathBuf>,
}

/// A module's Python source, and the name it is imported by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSource {
    /// The file.
    pub file: PathBuf,
    /// Its import name: `ansible.modules.pip`, `ansible_collections.ns.coll.plugins.modules.x`,
    /// or `deployer_library.x` for a module of a `library/` folder.
    pub import_name: String,
    /// The folders holding `ansible_collections` where the code it imports is looked up.
    pub collection_roots: Vec<PathBuf>,
}

/// Why a module's code cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// No ansible-core on this controller.
    #[error(
        "Ansible's module code is not installed on this controller (`pip install ansible` puts it \
         where deployer finds it: beside `ansible-playbook` on the PATH)"
    )]
    NoAnsible,
    /// ansible-core is there, but not the collection that has the module.
    #[error(
        "its collection is not installed on this controller (`ansible-galaxy collection install {0}`)"
    )]
    NoCollection(String),
    /// The module needs Ansible's controller-side action plugin, which deployer cannot run.
    #[error("it needs Ansible's action plugin, which runs inside Ansible")]
    ActionPlugin,
}

static INSTALLATION: LazyLock<Installation> = LazyLock::new(Installation::discover);

impl Installation {
    /// The controller's installation, found once.
    pub fn get() -> &'static Installation {
        &INSTALLATION
    }

    fn discover() -> Installation {
        let settings = crate::config::settings();
        let mut roots = settings.collections_path.clone();
        if roots.is_empty() {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            roots.extend(home.map(|h| h.join(".ansible/collections")));
            roots.push(PathBuf::from("/usr/share/ansible/collections"));
        }
        let python = python_of("ansible-playbook").and_then(|p| package_paths(&p));
        let (core, installed) = python.unwrap_or_default();
        roots.extend(installed);
        roots.retain(|root| root.join("ansible_collections").is_dir());
        roots.dedup();
        Installation {
            core,
            collection_roots: roots,
        }
    }

    /// The source of module `full_name` (`ansible.builtin.pip`, `community.general.ufw`), or why
    /// it cannot run. Collections are looked up in `first_roots` (the playbook's `collections/`
    /// folder, as Ansible does) before the installed ones.
    pub fn module(
        &self,
        full_name: &str,
        first_roots: &[PathBuf],
    ) -> Result<ModuleSource, Unavailable> {
        let roots: Vec<PathBuf> = (first_roots.iter())
            .filter(|root| root.join("ansible_collections").is_dir())
            .chain(&self.collection_roots)
            .cloned()
            .collect();
        let core = self.core.as_ref().ok_or(Unavailable::NoAnsible)?;
        let (collection, name) = full_name
            .rsplit_once('.')
            .unwrap_or(("ansible.builtin", full_name));
        if collection == "ansible.builtin" || collection == "ansible.legacy" {
            if core
                .join("plugins/action")
                .join(format!("{name}.py"))
                .is_file()
            {
                return Err(Unavailable::ActionPlugin);
            }
            let file = core.join("modules").join(format!("{name}.py"));
            return match file.is_file() {
                true => Ok(ModuleSource {
                    file,
                    import_name: format!("ansible.modules.{name}"),
                    collection_roots: roots,
                }),
                false => Err(Unavailable::NoCollection(collection.to_string())),
            };
        }
        let package = format!("ansible_collections.{collection}.plugins");
        for root in &roots {
            let plugins = root.join(package.replace('.', "/"));
            if plugins.join("action").join(format!("{name}.py")).is_file() {
                return Err(Unavailable::ActionPlugin);
            }
            let file = plugins.join("modules").join(format!("{name}.py"));
            if file.is_file() {
                return Ok(ModuleSource {
                    file,
                    import_name: format!("{package}.modules.{name}"),
                    collection_roots: roots,
                });
            }
        }
        Err(Unavailable::NoCollection(collection.to_string()))
    }
}

/// A module of a `library/` folder (a role's, or the playbook's): `library/NAME.py`.
pub fn library_module(folders: &[PathBuf], name: &str) -> Option<ModuleSource> {
    folders
        .iter()
        .map(|folder| folder.join(format!("{name}.py")))
        .find(|file| file.is_file())
        .map(|file| ModuleSource {
            file,
            import_name: format!("deployer_library.{name}"),
            collection_roots: Installation::get().collection_roots.clone(),
        })
}

/// The Python interpreter of the script `program` found on the PATH (its `#!` line).
fn python_of(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let script = std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|file| file.is_file())?;
    let text = std::fs::read(&script).ok()?;
    let first = text.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?.strip_prefix("#!")?;
    let mut words = line.split_whitespace();
    let interpreter = words.next()?;
    match Path::new(interpreter).file_name()?.to_str()? {
        "env" => words.next().map(PathBuf::from),
        _ => Some(PathBuf::from(interpreter)),
    }
}

/// What `python` says of its `ansible` package and `ansible_collections` folders.
fn package_paths(python: &Path) -> Option<(Option<PathBuf>, Vec<PathBuf>)> {
    const SCRIPT: &str = "import json, os\n\
        core = None\n\
        try:\n    import ansible; core = os.path.dirname(ansible.__file__)\nexcept Exception: pass\n\
        roots = []\n\
        try:\n    import ansible_collections; roots = [os.path.dirname(p) for p in ansible_collections.__path__]\nexcept Exception: pass\n\
        print(json.dumps({'core': core, 'roots': roots}))\n";
    let output = Command::new(python).args(["-c", SCRIPT]).output().ok()?;
    if !output.status.success() {
        tracing::debug!(python = %python.display(), "cannot ask for Ansible's packages");
        return None;
    }
    let found: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    let core = found["core"].as_str().map(PathBuf::from);
    let roots = found["roots"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(PathBuf::from))
        .collect();
    Some((core, roots))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_core(dir: &Path) -> Installation {
        let core = dir.join("ansible");
        std::fs::create_dir_all(core.join("modules")).unwrap();
        std::fs::create_dir_all(core.join("plugins/action")).unwrap();
        std::fs::write(core.join("modules/pip.py"), "").unwrap();
        std::fs::write(core.join("modules/reboot.py"), "").unwrap();
        std::fs::write(core.join("plugins/action/reboot.py"), "").unwrap();
        let modules = dir.join("cols/ansible_collections/community/general/plugins/modules");
        std::fs::create_dir_all(&modules).unwrap();
        std::fs::write(modules.join("ufw.py"), "").unwrap();
        Installation {
            core: Some(core),
            collection_roots: vec![dir.join("cols")],
        }
    }

    #[test]
    fn modules_are_found_by_their_full_names() {
        let dir = tempfile::tempdir().unwrap();
        let install = fake_core(dir.path());
        let module = |name: &str| install.module(name, &[]);
        let pip = module("ansible.builtin.pip").unwrap();
        assert_eq!(pip.import_name, "ansible.modules.pip");
        let ufw = module("community.general.ufw").unwrap();
        assert_eq!(
            ufw.import_name,
            "ansible_collections.community.general.plugins.modules.ufw"
        );
        assert_eq!(
            module("ansible.builtin.reboot"),
            Err(Unavailable::ActionPlugin)
        );
        assert_eq!(
            module("community.mysql.mysql_user"),
            Err(Unavailable::NoCollection("community.mysql".into()))
        );
        assert_eq!(
            Installation::default().module("ansible.builtin.pip", &[]),
            Err(Unavailable::NoAnsible)
        );
    }
}

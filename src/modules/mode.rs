//! File permission modes as modules accept them: octal (`0644`, `755`) or symbolic like chmod's
//! (`u=rwx,g=rx,o=`, `u+x`, `a-w`, `g=u`, `+X`), resolved against a path's current mode.
//!
//! Resolution happens here, on the controller, so a module always knows the exact mode it will
//! set and sends chmod an octal number. Like Ansible (and unlike chmod), a clause without `u`, `g`,
//! `o` or `a` means `a` and ignores the umask. This file does not touch hosts.

use std::fmt;

/// A mode that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid mode: give octal digits like 0644 or symbolic clauses like u=rw,g=r")]
pub struct ModeError(pub String);

/// A mode as given in a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// An absolute mode: permission bits plus setuid, setgid and sticky.
    Octal(u32),
    /// chmod-style clauses, applied in order to the current mode.
    Symbolic(Vec<Clause>),
}

/// One symbolic clause: whom it affects and the operations on them (`ug+rw-x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Which of user, group, other (as `USER`, `GROUP`, `OTHER` bits) the clause affects.
    who: u8,
    /// The operations, in order.
    ops: Vec<(Op, Perms)>,
}

/// How a clause combines its permissions with the current ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Set,
}

/// The permissions an operation names: letters, or another class's current bits (`g=u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Perms {
    Letters {
        read: bool,
        write: bool,
        exec: bool,
        exec_if_dir: bool,
        special: bool,
        sticky: bool,
    },
    CopyOf(u8),
}

const USER: u8 = 1;
const GROUP: u8 = 2;
const OTHER: u8 = 4;

impl Mode {
    /// Parses octal digits (with or without a leading 0) or symbolic clauses.
    pub fn parse(text: &str) -> Result<Mode, ModeError> {
        let text = text.trim();
        let error = || ModeError(text.to_string());
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return match u32::from_str_radix(text, 8) {
                Ok(bits) if bits <= 0o7777 => Ok(Mode::Octal(bits)),
                _ => Err(error()),
            };
        }
        text.split(',')
            .map(|clause| parse_clause(clause).ok_or_else(error))
            .collect::<Result<Vec<_>, _>>()
            .map(Mode::Symbolic)
    }

    /// The mode a path ends up with when this one is applied to its `current` bits.
    pub fn resolve(&self, current: u32, is_dir: bool) -> u32 {
        match self {
            Mode::Octal(bits) => *bits,
            Mode::Symbolic(clauses) => clauses
                .iter()
                .fold(current & 0o7777, |mode, clause| clause.apply(mode, is_dir)),
        }
    }

    /// The mode as chmod takes it for a recursive change, where each path resolves its own
    /// symbolic mode: octal digits, or clauses with an explicit `a` so the umask plays no part.
    pub fn chmod_arg(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Octal(bits) => write!(f, "{}", octal(*bits)),
            Mode::Symbolic(clauses) => {
                for (i, clause) in clauses.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{clause}")?;
                }
                Ok(())
            }
        }
    }
}

/// A mode as four octal digits, the way Ansible reports it (`0644`).
pub fn octal(bits: u32) -> String {
    format!("{:04o}", bits & 0o7777)
}

fn parse_clause(text: &str) -> Option<Clause> {
    let first_op = text.find(['+', '-', '='])?;
    let (who_text, mut rest) = text.split_at(first_op);
    let mut who = 0;
    for c in who_text.chars() {
        who |= match c {
            'u' => USER,
            'g' => GROUP,
            'o' => OTHER,
            'a' => USER | GROUP | OTHER,
            _ => return None,
        };
    }
    if who == 0 {
        who = USER | GROUP | OTHER;
    }
    let mut ops = Vec::new();
    while let Some(op_char) = rest.chars().next() {
        let op = match op_char {
            '+' => Op::Add,
            '-' => Op::Remove,
            '=' => Op::Set,
            _ => return None,
        };
        rest = &rest[1..];
        let end = rest.find(['+', '-', '=']).unwrap_or(rest.len());
        ops.push((op, parse_perms(&rest[..end])?));
        rest = &rest[end..];
    }
    Some(Clause { who, ops })
}

fn parse_perms(text: &str) -> Option<Perms> {
    match text {
        "u" => return Some(Perms::CopyOf(USER)),
        "g" => return Some(Perms::CopyOf(GROUP)),
        "o" => return Some(Perms::CopyOf(OTHER)),
        _ => {}
    }
    let mut perms = (false, false, false, false, false, false);
    for c in text.chars() {
        match c {
            'r' => perms.0 = true,
            'w' => perms.1 = true,
            'x' => perms.2 = true,
            'X' => perms.3 = true,
            's' => perms.4 = true,
            't' => perms.5 = true,
            _ => return None,
        }
    }
    let (read, write, exec, exec_if_dir, special, sticky) = perms;
    Some(Perms::Letters {
        read,
        write,
        exec,
        exec_if_dir,
        special,
        sticky,
    })
}

/// The three classes in order with the shift of their rwx bits and their special bit.
const CLASSES: [(u8, u32, u32); 3] = [(USER, 6, 0o4000), (GROUP, 3, 0o2000), (OTHER, 0, 0o1000)];

impl Clause {
    fn apply(&self, mut mode: u32, is_dir: bool) -> u32 {
        for (op, perms) in &self.ops {
            let bits = self.bits(*perms, mode, is_dir);
            mode = match op {
                Op::Add => mode | bits,
                Op::Remove => mode & !bits,
                Op::Set => (mode & !self.mask()) | bits,
            };
        }
        mode
    }

    /// Every bit the clause's classes own (rwx, and setuid/setgid/sticky).
    fn mask(&self) -> u32 {
        CLASSES
            .iter()
            .filter(|(class, _, _)| self.who & class != 0)
            .map(|(_, shift, special)| (0o7 << shift) | special)
            .sum()
    }

    fn bits(&self, perms: Perms, mode: u32, is_dir: bool) -> u32 {
        let (rwx, special, sticky) = match perms {
            Perms::CopyOf(from) => {
                let shift = CLASSES.iter().find(|c| c.0 == from).map_or(0, |c| c.1);
                ((mode >> shift) & 0o7, false, false)
            }
            Perms::Letters {
                read,
                write,
                exec,
                exec_if_dir,
                special,
                sticky,
            } => {
                let exec = exec || (exec_if_dir && (is_dir || mode & 0o111 != 0));
                let rwx = (u32::from(read) << 2) | (u32::from(write) << 1) | u32::from(exec);
                (rwx, special, sticky)
            }
        };
        CLASSES
            .iter()
            .filter(|(class, _, _)| self.who & class != 0)
            .map(|&(class, shift, special_bit)| {
                let wanted_special = if class == OTHER { sticky } else { special };
                (rwx << shift) | if wanted_special { special_bit } else { 0 }
            })
            .sum()
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (class, letter) in [(USER, 'u'), (GROUP, 'g'), (OTHER, 'o')] {
            if self.who & class != 0 {
                write!(f, "{letter}")?;
            }
        }
        for (op, perms) in &self.ops {
            let op = match op {
                Op::Add => '+',
                Op::Remove => '-',
                Op::Set => '=',
            };
            write!(f, "{op}")?;
            match perms {
                Perms::CopyOf(USER) => f.write_str("u")?,
                Perms::CopyOf(GROUP) => f.write_str("g")?,
                Perms::CopyOf(_) => f.write_str("o")?,
                Perms::Letters {
                    read,
                    write,
                    exec,
                    exec_if_dir,
                    special,
                    sticky,
                } => {
                    let letters = [
                        (read, 'r'),
                        (write, 'w'),
                        (exec, 'x'),
                        (exec_if_dir, 'X'),
                        (special, 's'),
                        (sticky, 't'),
                    ];
                    for (on, letter) in letters {
                        if *on {
                            write!(f, "{letter}")?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_modes_like_chmod_without_umask() {
        // (mode, current, is_dir, expected)
        let table = [
            ("0644", 0o777, false, 0o644),
            ("755", 0o600, true, 0o755),
            ("1777", 0o755, true, 0o1777),
            ("u=rwx,g=rx,o=", 0o666, false, 0o750),
            ("u+x", 0o644, false, 0o744),
            ("+x", 0o644, false, 0o755),
            ("a-w", 0o664, false, 0o444),
            ("go-rwx", 0o755, false, 0o700),
            ("g=u", 0o640, false, 0o660),
            ("o=g,g-w", 0o670, false, 0o657),
            ("a+X", 0o644, false, 0o644),
            ("a+X", 0o644, true, 0o755),
            ("a+X", 0o744, false, 0o755),
            ("u+s,g+s", 0o755, false, 0o6755),
            ("+t", 0o777, true, 0o1777),
            ("u=rw-w+x", 0o000, false, 0o500),
            ("ug=rw,o=r", 0o4777, false, 0o664),
        ];
        for (text, current, is_dir, expected) in table {
            let mode = Mode::parse(text).unwrap();
            assert_eq!(
                octal(mode.resolve(current, is_dir)),
                octal(expected),
                "{text} on {current:o}"
            );
        }
    }

    #[test]
    fn refuses_what_chmod_would_refuse() {
        for bad in ["", "0999", "17777", "u=rwz", "q+x", "u", "rw", "u+x,,g+x"] {
            assert!(Mode::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn chmod_argument_names_every_class() {
        assert_eq!(Mode::parse("+x").unwrap().chmod_arg(), "ugo+x");
        assert_eq!(
            Mode::parse("u=rwx,g=rX,o=").unwrap().chmod_arg(),
            "u=rwx,g=rX,o="
        );
        assert_eq!(Mode::parse("g=u").unwrap().chmod_arg(), "g=u");
        assert_eq!(Mode::parse("644").unwrap().chmod_arg(), "0644");
    }
}

//! Finds filters and tests a template uses that do not exist, before anything renders
//! (minijinja itself only notices them while rendering).

use minijinja::machinery::{Instruction, Instructions, get_compiled_template};
use minijinja::{Environment, Template, context};

/// A filter or test name the environment does not know, with where it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// `filter` or `test`.
    pub kind: &'static str,
    /// The name as written.
    pub name: String,
    /// 1-based line inside the template.
    pub line: usize,
    /// 1-based column inside the template.
    pub column: usize,
}

/// The first filter or test `template` uses that `env` does not provide.
pub fn first_unknown(
    env: &Environment<'static>,
    template: &Template<'_, '_>,
) -> Option<UnknownName> {
    let compiled = get_compiled_template(template);
    std::iter::once(&compiled.instructions)
        .chain(compiled.blocks.values())
        .find_map(|instructions| unknown_in(env, instructions))
}

fn unknown_in(env: &Environment<'static>, instructions: &Instructions<'_>) -> Option<UnknownName> {
    (0u32..)
        .map_while(|idx| instructions.get(idx).map(|i| (idx, i)))
        .find_map(|(idx, instruction)| {
            let (kind, name) = match instruction {
                Instruction::ApplyFilter(name, ..) => ("filter", *name),
                Instruction::PerformTest(name, ..) => ("test", *name),
                _ => return None,
            };
            if exists(env, kind, name) {
                return None;
            }
            let span = instructions.get_span(idx);
            Some(UnknownName {
                kind,
                name: name.to_string(),
                line: span.map_or(1, |s| usize::from(s.start_line)),
                column: span.map_or(1, |s| usize::from(s.start_col) + 1),
            })
        })
}

/// Whether `env` has a filter or test called `name`, asked through the builtin `filter` and
/// `test` tests.
fn exists(env: &Environment<'static>, kind: &str, name: &str) -> bool {
    env.compile_expression(&format!("name is {kind}"))
        .and_then(|expr| expr.eval(context! { name }))
        .is_ok_and(|v| v.is_true())
}

#[cfg(test)]
mod tests {
    use crate::template::Templater;

    #[test]
    fn unknown_filters_and_tests_are_found_before_rendering() {
        let templater = Templater::new();
        let error = templater
            .check_template("line one\nvalue: {{ x | to_jsn }}")
            .unwrap_err();
        assert_eq!(error.message, "unknown filter `to_jsn`");
        assert_eq!((error.line, error.column), (Some(2), Some(15)));
        let error = templater.check_expression("x is sucess").unwrap_err();
        assert_eq!(error.message, "unknown test `sucess`");
        assert_eq!((error.line, error.column), (Some(1), Some(6)));
        let error = templater
            .check_template("{% for i in l %}{{ i | nope }}{% endfor %}")
            .unwrap_err();
        assert_eq!(error.message, "unknown filter `nope`");
        assert!(
            templater
                .check_template("{{ x | to_json | b64encode }}")
                .is_ok()
        );
        assert!(
            templater
                .check_expression("r is failed and x | bool")
                .is_ok()
        );
    }
}

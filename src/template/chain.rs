//! Ansible's undefined values: strict everywhere (printing, iterating, testing for truth and
//! passing them to filters fail) except that looking up an attribute or item of an undefined
//! value gives the same undefined value, so `nope.x | default(1)` is 1 and `nope.x is defined`
//! is false, while `{{ nope.x }}` still fails naming `nope`.
//!
//! minijinja has no such mode (`Strict` fails on the lookup itself, `Chainable` is lenient
//! everywhere), so templates are rewritten before they compile: each lookup whose object may
//! be undefined becomes one that passes an undefined object through.
//!
//! - `v.x` and `v[k]` on a plain variable become `(v if v is undefined else v.x)`;
//! - on anything else (`a.b.c`, `f(x).y`, `(a or b)[0]`) the object goes through the filter
//!   `_chain` first: `((a.b)|_chain).c`. The filter gives a defined object back as it is and
//!   wraps an undefined one in an object whose every attribute and item is that undefined value.
//!
//! The lookups themselves stay minijinja's, so an undefined value keeps the expression it came
//! from, which the error printing it names.
//!
//! Method calls (`x.split(',')`), slices and assignment targets are left alone.

use std::borrow::Cow;
use std::sync::Arc;

use minijinja::machinery::ast::{CallArg, Expr, Stmt};
use minijinja::machinery::{parse, parse_expr};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Object;
use minijinja::{Environment, Value};

/// The filter an object goes through before a lookup.
const FILTER: &str = "_chain";

/// Adds the filter the rewritten templates call.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter(FILTER, |object: Value| match object.is_undefined() {
        true => Value::from_object(Chained(object)),
        false => object,
    });
}

/// An undefined value whose attributes and items are that same value.
#[derive(Debug)]
struct Chained(Value);

impl Object for Chained {
    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        Some(self.0.clone())
    }
}

/// A template with its lookups made chainable and its filter and test names unqualified; the
/// source itself when it has none or does not parse (compiling it then reports the error).
///
/// With `escape`, backslashes in string constants inside `{{ }}` are kept as written, as
/// Ansible's `escape_backslashes` does for templates written in playbooks (not for template
/// files, nor inside `{% %}`): `'\1'` stays a backslash and a 1, which the YAML parser already
/// unescaped once.
pub fn template<'a>(
    source: &'a str,
    name: &str,
    syntax: &SyntaxConfig,
    escape: bool,
) -> Cow<'a, str> {
    match unqualified(source) {
        Cow::Borrowed(source) => chained_template(source, name, syntax, escape),
        Cow::Owned(source) => {
            Cow::Owned(chained_template(&source, name, syntax, escape).into_owned())
        }
    }
}

fn chained_template<'a>(
    source: &'a str,
    name: &str,
    syntax: &SyntaxConfig,
    escape: bool,
) -> Cow<'a, str> {
    if !needs_rewrite(source, escape) {
        return Cow::Borrowed(source);
    }
    match parse(source, name, syntax.clone()) {
        Ok(ast) => {
            let mut edits = Edits::new(source, escape);
            edits.stmt(&ast);
            edits.apply()
        }
        Err(_) => Cow::Borrowed(source),
    }
}

/// A bare expression with its lookups made chainable and its filter and test names
/// unqualified; with `escape`, its string constants keep their backslashes (see
/// [`template`]; Ansible does not escape conditions).
pub fn expression(source: &str, escape: bool) -> Cow<'_, str> {
    match unqualified(source) {
        Cow::Borrowed(source) => chained_expression(source, escape),
        Cow::Owned(source) => Cow::Owned(chained_expression(&source, escape).into_owned()),
    }
}

fn chained_expression(source: &str, escape: bool) -> Cow<'_, str> {
    if !needs_rewrite(source, escape) {
        return Cow::Borrowed(source);
    }
    match parse_expr(source) {
        Ok(expr) => {
            let mut edits = Edits::new(source, escape);
            edits.emitting = escape;
            edits.expr(&expr);
            edits.apply()
        }
        Err(_) => Cow::Borrowed(source),
    }
}

/// Filter and test names written with Ansible's collection prefix (`x | ansible.builtin.to_json`,
/// `x is ansible.builtin.match(...)`, also `ansible.legacy.`) without it: they name the same
/// plugins.
pub fn unqualified(source: &str) -> Cow<'_, str> {
    static PREFIX: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(\|\s*|\bis\s+(?:not\s+)?)ansible\.(?:builtin|legacy)\.([A-Za-z_])")
            .expect("a valid pattern")
    });
    if !source.contains("ansible.") {
        return Cow::Borrowed(source);
    }
    PREFIX.replace_all(source, "$1$2")
}

/// Whether `source` may look anything up or have backslashes to keep (a cheap test that
/// skips parsing most values).
fn needs_rewrite(source: &str, escape: bool) -> bool {
    source.contains('.') || source.contains('[') || escape && source.contains('\\')
}

/// Text inserted into a source, collected while walking its syntax tree.
struct Edits<'s> {
    source: &'s str,
    /// How deep the walk is in nested expressions.
    depth: usize,
    /// `(offset, order at that offset, text)`.
    inserts: Vec<(usize, isize, String)>,
    /// Whether backslashes in string constants of `{{ }}` are kept.
    escape: bool,
    /// Whether the walk is inside a `{{ }}` whose constants are escaped.
    emitting: bool,
}

impl<'s> Edits<'s> {
    fn new(source: &'s str, escape: bool) -> Self {
        Edits {
            source,
            depth: 0,
            inserts: Vec::new(),
            escape,
            emitting: false,
        }
    }

    /// Doubles the backslashes of a string constant written at `span`.
    fn escape_constant(&mut self, expr: &Expr<'_>) {
        let (from, to) = (start(expr), end(expr));
        let Some(text) = self.source.get(from..to) else {
            return;
        };
        let at: Vec<usize> = text.match_indices('\\').map(|(i, _)| from + i).collect();
        for offset in at {
            self.inserts.push((offset, 0, "\\".into()));
        }
    }

    /// The source with the insertions made.
    fn apply(mut self) -> Cow<'s, str> {
        if self.inserts.is_empty() {
            return Cow::Borrowed(self.source);
        }
        self.inserts.sort_by_key(|&(at, order, _)| (at, order));
        let mut out = String::with_capacity(self.source.len() * 2);
        let mut copied = 0;
        for (at, _, text) in &self.inserts {
            out.push_str(&self.source[copied..*at]);
            out.push_str(text);
            copied = *at;
        }
        out.push_str(&self.source[copied..]);
        Cow::Owned(out)
    }

    /// Opens a group at `at`: outer groups open before inner ones.
    fn open(&mut self, at: usize, text: impl Into<String>) {
        self.inserts.push((at, self.depth as isize, text.into()));
    }

    /// Closes a group at `at`: inner groups close before outer ones, and after any opening.
    fn close(&mut self, at: usize, text: impl Into<String>) {
        self.inserts
            .push((at, isize::MAX - self.depth as isize, text.into()));
    }

    /// Offset of the last `needle` in `source[from..to]`.
    fn last(&self, needle: char, from: usize, to: usize) -> Option<usize> {
        self.source.get(from..to)?.rfind(needle).map(|i| from + i)
    }

    fn stmts(&mut self, stmts: &[Stmt<'_>]) {
        stmts.iter().for_each(|s| self.stmt(s));
    }

    fn stmt(&mut self, stmt: &Stmt<'_>) {
        match stmt {
            Stmt::Template(t) => self.stmts(&t.children),
            Stmt::EmitExpr(e) => {
                self.emitting = self.escape;
                self.expr(&e.expr);
                self.emitting = false;
            }
            Stmt::EmitRaw(_) | Stmt::Continue(_) | Stmt::Break(_) => {}
            Stmt::ForLoop(f) => {
                self.expr(&f.iter);
                self.exprs(f.filter_expr.iter());
                self.stmts(&f.body);
                self.stmts(&f.else_body);
            }
            Stmt::IfCond(i) => {
                self.expr(&i.expr);
                self.stmts(&i.true_body);
                self.stmts(&i.false_body);
            }
            Stmt::WithBlock(w) => {
                self.exprs(w.assignments.iter().map(|(_, value)| value));
                self.stmts(&w.body);
            }
            Stmt::Set(s) => self.expr(&s.expr),
            Stmt::SetBlock(s) => {
                self.exprs(s.filter.iter());
                self.stmts(&s.body);
            }
            Stmt::AutoEscape(a) => {
                self.expr(&a.enabled);
                self.stmts(&a.body);
            }
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter);
                self.stmts(&f.body);
            }
            Stmt::Block(b) => self.stmts(&b.body),
            Stmt::Import(i) => self.expr(&i.expr),
            Stmt::FromImport(i) => self.expr(&i.expr),
            Stmt::Extends(e) => self.expr(&e.name),
            Stmt::Include(i) => self.expr(&i.name),
            Stmt::Macro(m) => {
                self.exprs(m.defaults.iter());
                self.stmts(&m.body);
            }
            Stmt::CallBlock(c) => {
                self.call(&c.call.expr, &c.call.args);
                self.exprs(c.macro_decl.defaults.iter());
                self.stmts(&c.macro_decl.body);
            }
            Stmt::Do(d) => self.call(&d.call.expr, &d.call.args),
        }
    }

    fn exprs<'e, 'a: 'e>(&mut self, exprs: impl Iterator<Item = &'e Expr<'a>>) {
        exprs.for_each(|e| self.expr(e));
    }

    fn args(&mut self, args: &[CallArg<'_>]) {
        for arg in args {
            match arg {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => self.expr(e),
            }
        }
    }

    /// A call: `x.method(...)` stays a method call, only `x` is rewritten.
    fn call(&mut self, callee: &Expr<'_>, args: &[CallArg<'_>]) {
        match callee {
            Expr::GetAttr(method) => self.expr(&method.expr),
            other => self.expr(other),
        }
        self.args(args);
    }

    fn expr(&mut self, expr: &Expr<'_>) {
        self.depth += 1;
        self.expr_inner(expr);
        self.depth -= 1;
    }

    fn expr_inner(&mut self, expr: &Expr<'_>) {
        match expr {
            Expr::Const(c) if self.emitting && c.value.as_str().is_some() => {
                self.escape_constant(expr)
            }
            Expr::Var(_) | Expr::Const(_) => {}
            Expr::GetAttr(g) => {
                self.lookup(expr, &g.expr, None);
                self.expr(&g.expr);
            }
            Expr::GetItem(g) => {
                self.lookup(expr, &g.expr, Some(&g.subscript_expr));
                self.expr(&g.expr);
                self.expr(&g.subscript_expr);
            }
            Expr::Slice(s) => {
                self.expr(&s.expr);
                self.exprs(s.start.iter().chain(&s.stop).chain(&s.step));
            }
            Expr::UnaryOp(u) => self.expr(&u.expr),
            Expr::BinOp(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
            }
            Expr::Compare(c) => {
                self.expr(&c.expr);
                self.exprs(c.ops.iter().map(|op| &op.expr));
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                self.expr(&i.true_expr);
                self.exprs(i.false_expr.iter());
            }
            Expr::Filter(f) => {
                self.exprs(f.expr.iter());
                self.args(&f.args);
            }
            Expr::Test(t) => {
                self.expr(&t.expr);
                self.args(&t.args);
            }
            Expr::Call(c) => self.call(&c.expr, &c.args),
            Expr::List(l) => self.exprs(l.items.iter()),
            Expr::Tuple(t) => self.exprs(t.items.iter()),
            Expr::Map(m) => self.exprs(m.keys.iter().chain(&m.values)),
        }
    }

    /// Rewrites the lookup `whole`: `object.name` (no `key`), `object[key]` or `object.0`.
    fn lookup(&mut self, whole: &Expr<'_>, object: &Expr<'_>, key: Option<&Expr<'_>>) {
        let object_end = end(object);
        let operator_end = key.map_or(end(whole), start);
        let bracket = key.and(self.last('[', object_end, operator_end));
        let Some(operator) = bracket.or_else(|| self.last('.', object_end, operator_end)) else {
            return;
        };
        match object {
            Expr::Var(var) if self.source[object_end..operator].trim().is_empty() => {
                let name = var.id;
                self.open(
                    start(object),
                    format!("({name} if {name} is undefined else "),
                );
                self.close(end(whole), ")");
            }
            _ => {
                self.open(start(object), "((");
                self.close(operator, format!(")|{FILTER})"));
            }
        }
    }
}

/// Where an expression starts. Spans of postfix and filter expressions start late (at their
/// operator), so this follows the leftmost operand.
fn start(expr: &Expr<'_>) -> usize {
    let own = expr.span().start_offset as usize;
    let leftmost = match expr {
        Expr::GetAttr(g) => Some(&g.expr),
        Expr::GetItem(g) => Some(&g.expr),
        Expr::Slice(s) => Some(&s.expr),
        Expr::Call(c) => Some(&c.expr),
        Expr::UnaryOp(u) => Some(&u.expr),
        Expr::BinOp(b) => Some(&b.left),
        Expr::Compare(c) => Some(&c.expr),
        Expr::IfExpr(i) => Some(&i.true_expr),
        Expr::Filter(f) => f.expr.as_ref(),
        Expr::Test(t) => Some(&t.expr),
        Expr::Var(_) | Expr::Const(_) | Expr::List(_) | Expr::Tuple(_) | Expr::Map(_) => None,
    };
    leftmost.map_or(own, |e| own.min(start(e)))
}

/// Where an expression ends.
fn end(expr: &Expr<'_>) -> usize {
    expr.span().end_offset as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Templater;
    use minijinja::UndefinedBehavior;
    use serde_json::json;

    #[test]
    fn lookups_are_rewritten_to_pass_undefined_objects_through() {
        let syntax = SyntaxConfig::default();
        assert_eq!(
            template("{{ nope.x.y }}", "t", &syntax, false),
            "{{ (((nope if nope is undefined else nope.x))|_chain).y }}"
        );
        assert_eq!(
            expression("(d)[k].0", false),
            "(((((d))|_chain)[k])|_chain).0"
        );
        assert_eq!(expression("x.split(',')", false), "x.split(',')");
        assert_eq!(template("no lookups", "t", &syntax, false), "no lookups");
        assert_eq!(
            template(
                "{{ x | ansible.builtin.to_json }}{% if y is not ansible.builtin.match('a') %}",
                "t",
                &syntax,
                false
            ),
            "{{ x | to_json }}{% if y is not match('a') %}"
        );
        assert_eq!(expression("x|ansible.legacy.bool", false), "x|bool");
    }

    #[test]
    fn backslashes_in_emitted_constants_are_kept_like_ansible() {
        let syntax = SyntaxConfig::default();
        assert_eq!(
            template(
                r"{{ x | regex_replace('(\d)', '\1') }}{% set y = '\n' %}",
                "t",
                &syntax,
                true
            ),
            r"{{ x | regex_replace('(\\d)', '\\1') }}{% set y = '\n' %}"
        );
        assert_eq!(template(r"{{ '\n' }}", "t", &syntax, false), r"{{ '\n' }}");
        assert_eq!(expression(r"'a\nb'", true), r"'a\\nb'");
        assert_eq!(expression(r"'a\nb'", false), r"'a\nb'");
        let t = Templater::new();
        let vars = json!({"s": "host-01"});
        assert_eq!(
            t.render_str(r"{{ s | regex_replace('(\w+)-(\d+)', '\2.\1') }}", &vars)
                .unwrap(),
            "01.host"
        );
        assert_eq!(t.render_str(r"{{ 'a\nb' }}", &vars).unwrap(), r"a\nb");
        assert_eq!(
            t.render_file("f.j2", r"{{ 'a\nb' }}", &vars, &[]).unwrap(),
            "a\nb"
        );
        assert!(
            t.eval_condition(r"'a\nb' == 'a' ~ '\n' ~ 'b'", &vars)
                .unwrap()
        );
    }

    #[test]
    fn rewritten_lookups_give_the_values_minijinja_gives() {
        let cases = [
            "{{ d.a }}|{{ d['a'] }}|{{ d.l.0 }}|{{ d.l[1] }}|{{ d.l.1 }}",
            "{{ (d).a }}|{{ (d.m).k }}|{{ ((d.n).o).p }}|{{ (d.n.o).p }}",
            "{{ d.m[key] }}|{{ d.m[ key ] }}|{{ d . n . o . p }}|{{ d['m']['k'] }}",
            "{{ -d.n.o.p }}|{{ not d.n.o.p }}|{{ d.l|first }}|{{ d.l[1:] }}|{{ d.l[-1] }}",
            "{{ d.a.upper() }}|{{ d.m.items() | list }}|{{ 'a.b'.split('.')[1] }}",
            "{{ [d.l][0][2] }}|{{ {'x': d.m}.x.k }}|{{ (d.m if true else d).k }}",
            "{{ d.n.o.p is defined }}|{{ d.missing is defined }}|{{ d.m['with space'] }}",
            "{{ d.m.k if d.m.k is defined else 'no' }}|{{ range(3)[d.l[0]] }}|{{ '[x]' ~ d.a }}",
            "{{ (d.a ~ 'y')[1] }}|{{ d.l | map('string') | join(',') }}|{{ d.n['o'].p + 1 }}",
            "{% for x in d.l if x > d.l[0] %}{{ loop.index }}{{ x }}{% endfor %}",
            "{% set ns = namespace(v=d.n.o.p) %}{% set ns.v = ns.v + 1 %}{{ ns.v }}",
            "{% macro m(a=d.a) %}{{ a }}{{ d.m.k }}{% endmacro %}{{ m() }}{{ m(d.l.2) }}",
            "{% with v = d.n.o %}{{ v.p }}{% endwith %}{% if d.m.k == 'v' %}yes{% endif %}",
        ];
        let vars = json!({
            "d": {"a": "x", "l": [1, 2, 3], "m": {"k": "v", "with space": 1}, "n": {"o": {"p": 5}}},
            "key": "k"
        });
        let mut plain = Environment::new();
        plain.set_undefined_behavior(UndefinedBehavior::Strict);
        plain.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        plain.set_formatter(crate::template::python_formatter);
        let templater = Templater::new();
        for case in cases {
            let expected = plain
                .render_str(case, minijinja::Value::from(minijinja::value::Serde(&vars)))
                .unwrap();
            assert_eq!(
                templater.render_str(case, &vars).unwrap(),
                expected,
                "{case}"
            );
        }
    }
}

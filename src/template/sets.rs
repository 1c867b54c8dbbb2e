//! Ansible's set theory and combinatorics filters: `union`, `intersect`, `difference`,
//! `symmetric_difference`, `product`, `combinations`, `permutations`, `zip_longest`, and the
//! random ones, `shuffle` and `random`.
//!
//! Python computes the set filters with `set()` when the items are hashable, so its order is
//! the set's: ascending for small non-negative integers, arbitrary (per process) for text.
//! These keep the order of first appearance, which is what Python gives for unhashable items,
//! and sort small non-negative integers as Python's sets do.

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, Value};
use serde_json::Value as Data;

use super::filters::{failure, from_data, to_data};
use super::random::Source;

/// Adds the set and combinatorics filters to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("union", |a: &Value, b: &Value| {
        set_result(list(a)?.into_iter().chain(list(b)?).collect())
    });
    env.add_filter("intersect", |a: &Value, b: &Value| {
        let b = list(b)?;
        set_result(list(a)?.into_iter().filter(|x| b.contains(x)).collect())
    });
    env.add_filter("difference", |a: &Value, b: &Value| {
        let b = list(b)?;
        set_result(list(a)?.into_iter().filter(|x| !b.contains(x)).collect())
    });
    env.add_filter("symmetric_difference", |a: &Value, b: &Value| {
        let (a, b) = (list(a)?, list(b)?);
        let both: Vec<Data> = a.iter().filter(|x| b.contains(x)).cloned().collect();
        set_result(
            a.into_iter()
                .chain(b)
                .filter(|x| !both.contains(x))
                .collect(),
        )
    });
    env.add_filter("product", product);
    env.add_filter("combinations", |a: &Value, r: usize| {
        Ok::<_, Error>(tuples(&list(a)?, r, false))
    });
    env.add_filter("permutations", |a: &Value, r: Option<usize>| {
        let items = list(a)?;
        let r = r.unwrap_or(items.len());
        Ok::<_, Error>(tuples(&items, r, true))
    });
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("shuffle", shuffle);
    env.add_filter("random", random);
}

/// The items of a list (or the characters of a text, as Python iterates it).
fn list(value: &Value) -> Result<Vec<Data>, Error> {
    match to_data(value) {
        Data::Array(items) => Ok(items),
        Data::String(s) => Ok(s.chars().map(|c| Data::String(c.into())).collect()),
        Data::Object(map) => Ok(map.keys().map(|k| Data::String(k.clone())).collect()),
        other => Err(failure(format!("expected a list, got {other}"))),
    }
}

/// Items without repeats, in the order described in the module documentation.
fn set_result(items: Vec<Data>) -> Result<Value, Error> {
    let mut unique: Vec<Data> = Vec::new();
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    let small = |d: &Data| d.as_u64().filter(|n| *n < 1 << 16);
    if unique.iter().all(|d| small(d).is_some()) {
        unique.sort_by_key(|d| small(d).unwrap_or_default());
    }
    Ok(from_data(&Data::Array(unique)))
}

/// `product(*lists, repeat=1)`: the cartesian product, as lists.
fn product(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let repeat = kwargs.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    let mut pools = vec![list(value)?];
    for other in others.iter() {
        pools.push(list(other)?);
    }
    let pools: Vec<Vec<Data>> = std::iter::repeat_n(pools, repeat).flatten().collect();
    Ok(from_data(&Data::Array(
        cartesian(&pools).into_iter().map(Data::Array).collect(),
    )))
}

/// Every combination of one item of each pool, in order (`itertools.product`).
pub(super) fn cartesian<T: Clone>(pools: &[Vec<T>]) -> Vec<Vec<T>> {
    let mut combos: Vec<Vec<T>> = vec![Vec::new()];
    for pool in pools {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                pool.iter().map(move |x| {
                    let mut next = c.clone();
                    next.push(x.clone());
                    next
                })
            })
            .collect();
    }
    combos
}

/// `combinations(r)` and `permutations(r)` of the items, in Python's `itertools` order.
fn tuples(items: &[Data], r: usize, ordered: bool) -> Value {
    fn walk(
        items: &[Data],
        r: usize,
        ordered: bool,
        start: usize,
        used: &mut Vec<usize>,
        out: &mut Vec<Data>,
    ) {
        if used.len() == r {
            out.push(Data::Array(
                used.iter().map(|&i| items[i].clone()).collect(),
            ));
            return;
        }
        let from = if ordered { 0 } else { start };
        for i in from..items.len() {
            if ordered && used.contains(&i) {
                continue;
            }
            used.push(i);
            walk(items, r, ordered, i + 1, used, out);
            used.pop();
        }
    }
    let mut out = Vec::new();
    if r <= items.len() {
        walk(items, r, ordered, 0, &mut Vec::new(), &mut out);
    }
    from_data(&Data::Array(out))
}

/// `zip_longest(*lists, fillvalue=None)`.
fn zip_longest(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let fill = kwargs
        .get::<Option<Value>>("fillvalue")?
        .map_or(Data::Null, |v| to_data(&v));
    kwargs.assert_all_used()?;
    let mut lists = vec![list(value)?];
    for other in others.iter() {
        lists.push(list(other)?);
    }
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    let rows = (0..longest)
        .map(|i| {
            Data::Array(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or(fill.clone()))
                    .collect(),
            )
        })
        .collect();
    Ok(from_data(&Data::Array(rows)))
}

/// `shuffle(seed=None)`: the items in random order (reproducible with a seed).
fn shuffle(value: &Value, seed: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let seed = seed.or(kwargs.get::<Option<Value>>("seed")?);
    kwargs.assert_all_used()?;
    let mut items = list(value)?;
    seeded(seed).shuffle(&mut items);
    Ok(from_data(&Data::Array(items)))
}

/// A source seeded with `seed` when given.
fn seeded(seed: Option<Value>) -> Source {
    Source::new(
        seed.filter(|s| !s.is_none())
            .map(|s| s.to_string())
            .as_deref(),
    )
}

/// `random(start=0, step=1, seed=None)`: a random number below an integer, or a random item.
fn random(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let start = kwargs.get::<Option<i64>>("start")?.unwrap_or(0);
    let step = kwargs.get::<Option<i64>>("step")?.unwrap_or(1);
    let mut source = seeded(kwargs.get::<Option<Value>>("seed")?);
    kwargs.assert_all_used()?;
    if let Some(end) = to_data(value).as_i64() {
        if step <= 0 || end <= start {
            return Err(failure("empty range for random"));
        }
        let choices = ((end - start + step - 1) / step) as usize;
        return Ok(Value::from(start + source.below(choices) as i64 * step));
    }
    let items = list(value)?;
    if items.is_empty() {
        return Err(failure("random: cannot choose from an empty sequence"));
    }
    Ok(from_data(&items[source.below(items.len())]))
}

#[cfg(test)]
mod tests {
    use crate::template::filters::tests::eval;
    use serde_json::json;

    #[test]
    fn set_filters_follow_ansible() {
        let e = |expr: &str| eval(expr, json!({}));
        assert_eq!(e("[1, 2, 2, 3] | union([3, 4, 1])"), json!([1, 2, 3, 4]));
        assert_eq!(e("[1, 2, 2, 3] | intersect([3, 2, 5])"), json!([2, 3]));
        assert_eq!(e("[1, 2, 2, 3] | difference([2])"), json!([1, 3]));
        assert_eq!(
            e("[1, 2, 3] | symmetric_difference([3, 4])"),
            json!([1, 2, 4])
        );
        assert_eq!(e("['b', 'a'] | union(['c', 'b'])"), json!(["b", "a", "c"]));
        assert_eq!(
            e("[{'a': 1}] | union([{'a': 1}, {'b': 2}])"),
            json!([{"a": 1}, {"b": 2}])
        );
    }

    #[test]
    fn combinatorics_follow_itertools() {
        let e = |expr: &str| eval(expr, json!({}));
        assert_eq!(
            e("[1, 2] | product(['a', 'b'])"),
            json!([[1, "a"], [1, "b"], [2, "a"], [2, "b"]])
        );
        assert_eq!(e("[1, 2] | product(repeat=2) | length"), json!(4));
        assert_eq!(
            e("[1, 2, 3] | combinations(2)"),
            json!([[1, 2], [1, 3], [2, 3]])
        );
        assert_eq!(e("[1, 2, 3] | permutations(2) | length"), json!(6));
        assert_eq!(
            e("[1, 2] | zip_longest(['a'], fillvalue='-')"),
            json!([[1, "a"], [2, "-"]])
        );
    }

    #[test]
    fn random_filters_stay_within_their_input() {
        let e = |expr: &str| eval(expr, json!({}));
        assert_eq!(e("[3, 1, 2] | shuffle | sort"), json!([1, 2, 3]));
        assert_eq!(
            e("[3, 1, 2] | shuffle(seed='x')"),
            e("[3, 1, 2] | shuffle(seed='x')")
        );
        let n = e("10 | random(start=5, step=2)").as_i64().unwrap();
        assert!([5, 7, 9].contains(&n), "{n}");
        assert!(["a", "b"].contains(&e("['a', 'b'] | random").as_str().unwrap()));
        assert_eq!(e("60 | random(seed='host')"), e("60 | random(seed='host')"));
    }
}

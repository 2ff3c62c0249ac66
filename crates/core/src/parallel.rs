//! Work spread over every core with the `parallel` feature (rayon), and done in order on one
//! without it (the WebAssembly build): the same results either way.

/// The number of cores work is spread over.
#[cfg(feature = "parallel")]
pub(crate) fn cores() -> usize {
    rayon::current_num_threads()
}

/// The number of cores work is spread over.
#[cfg(not(feature = "parallel"))]
pub(crate) fn cores() -> usize {
    1
}

/// `f` of each item, in order: on every core with the `parallel` feature.
#[cfg(feature = "parallel")]
pub(crate) fn map_each<I: Sync, T: Send>(items: &[I], f: impl Fn(&I) -> T + Sync + Send) -> Vec<T> {
    use rayon::prelude::*;
    items.par_iter().map(f).collect()
}

/// `f` of each item, in order.
#[cfg(not(feature = "parallel"))]
pub(crate) fn map_each<I, T>(items: &[I], f: impl Fn(&I) -> T) -> Vec<T> {
    items.iter().map(f).collect()
}

/// `f` of each item, taken by value, in order: on every core with the `parallel` feature.
#[cfg(feature = "parallel")]
pub(crate) fn map_owned<I: Send, T: Send>(
    items: Vec<I>,
    f: impl Fn(I) -> T + Sync + Send,
) -> Vec<T> {
    use rayon::prelude::*;
    items.into_par_iter().map(f).collect()
}

/// `f` of each item, taken by value, in order.
#[cfg(not(feature = "parallel"))]
pub(crate) fn map_owned<I, T>(items: Vec<I>, f: impl Fn(I) -> T) -> Vec<T> {
    items.into_iter().map(f).collect()
}

/// Drops `items`, on every core with the `parallel` feature: freeing a large list of owned
/// values (a slice of generated history) is otherwise work on one core while the others wait.
#[cfg(feature = "parallel")]
pub(crate) fn drop_all<T: Send>(items: Vec<T>) {
    use rayon::prelude::*;
    items.into_par_iter().for_each(drop);
}

/// Drops `items`.
#[cfg(not(feature = "parallel"))]
pub(crate) fn drop_all<T>(items: Vec<T>) {
    drop(items);
}

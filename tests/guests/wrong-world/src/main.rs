//! A WASI command, not a crawler: the loader must refuse it as another world.
fn main() {
    println!("hello from another world");
}

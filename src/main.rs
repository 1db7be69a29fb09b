fn main() {
    println!("premortem");
}

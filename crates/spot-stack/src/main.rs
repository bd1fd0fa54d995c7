fn main() {
    std::process::exit(spot_stack::main());
}

fn main() {
    std::process::exit(pgindexbloat::main());
}

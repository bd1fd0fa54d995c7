fn main() {
    std::process::exit(sqs_postman::main());
}

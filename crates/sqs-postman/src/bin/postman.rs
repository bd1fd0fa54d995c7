//! `postman`: the original Node tool's command name, so that scripts written
//! for it keep working. The same program as `sqs-postman`.

fn main() {
    std::process::exit(sqs_postman::main());
}

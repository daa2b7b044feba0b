"""conf: aerospike.conf bytes -> text (decode) -> tree with lines (parser) -> flat settings with
canonical values (flatten), by the server's own rules; and back to text (render)."""

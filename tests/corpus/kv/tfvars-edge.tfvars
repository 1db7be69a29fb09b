db = {
  host     = "pg.prod.internal"
  password = "Sup3r-pw"
  nested = {
    deeper = {
      x = "y"
    }
  }
}
}
}
unclosed = {
  a = "b"
list = ["a", "b",
  "c"]
heredoc = <<EOT
host = not.a.key
EOT
/* block
comment = yes */
// line comment
# hash comment
inline = { a = "b" }

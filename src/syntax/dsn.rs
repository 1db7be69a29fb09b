//! Connection-string parsing: URI, libpq conninfo, ADO.NET/ODBC and JDBC forms.

/// Placeholder until the connection-string parser lands: masks nothing.
pub fn mask_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    std::borrow::Cow::Borrowed(text)
}

//! Connection-string parsing: URI, libpq conninfo, ADO.NET/ODBC and JDBC forms.

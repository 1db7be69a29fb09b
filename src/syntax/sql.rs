//! A PL/pgSQL-aware SQL lexer and the statement shapes premortem reads.

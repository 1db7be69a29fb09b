SELECT $$a$$, $tag$b$tag$, $1, $a$b$, $$$, $$$$, $_$x$_$, $é$x$é$, $0x$, $a b$;
DO $$ $inner$ $$ $inner$;

SELECT a<>b, a!=b, a||b, a::int, a:=b, a->>'x', a#>'{a}', a@>b, a<@b, a~*b, a!~~*b, a---b, a/**/b, a+-/*c*/b, ...., .5, 5., 1e, 1e+, 1.2.3, 0x1F, 1_000;

-- Reserved slot: no change yet.
SELECT 1;

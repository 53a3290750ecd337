-- Reserved slot (filled by the work that claims it).
SELECT 1;

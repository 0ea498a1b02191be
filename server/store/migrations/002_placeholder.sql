-- 002_placeholder: stands for issue 18's migration 002 until it lands.
SELECT 1;

CREATE DATABASE shop;
USE shop;
SET sql_mode = '';
CREATE TABLE every_type (
  id int PRIMARY KEY,
  c_tinyint tinyint, c_tinyint_u tinyint unsigned, c_bool bool, c_smallint smallint, c_smallint_u smallint unsigned,
  c_mediumint mediumint, c_int int, c_int_u int unsigned, c_bigint bigint, c_bigint_u bigint unsigned,
  c_decimal decimal(65,30), c_decimal_ps decimal(12,2), c_float float, c_double double,
  c_bit1 bit(1), c_bit10 bit(10), c_bit64 bit(64),
  c_date date, c_datetime datetime, c_datetime6 datetime(6), c_timestamp6 timestamp(6) NULL, c_time time,
  c_time6 time(6), c_year year,
  c_char char(5), c_varchar varchar(40), c_text text, c_latin1 varchar(20) CHARACTER SET latin1,
  c_utf8mb3 varchar(20) CHARACTER SET utf8mb3, c_cp1251 varchar(20) CHARACTER SET cp1251,
  c_sjis varchar(20) CHARACTER SET sjis, c_ucs2 varchar(20) CHARACTER SET ucs2,
  c_binary binary(4), c_varbinary varbinary(10), c_blob blob,
  c_enum enum('sad','ok','happy'), c_set set('a','b','c'), c_json json, c_geometry geometry, c_point point,
  c_uuid uuid, c_inet6 inet6
) DEFAULT CHARSET = utf8mb4;
INSERT INTO every_type VALUES
(1, -128, 255, true, -32768, 65535, -8388608, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
 '12345678901234567890123456789012345.123456789012345678901234567890', 1234567890.12, 3.4028235e38,
 1.7976931348623157e308, b'1', b'1010101010', b'1111111111111111111111111111111111111111111111111111111111111111',
 '2024-02-29', '2024-01-01 00:00:00', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '838:59:59',
 '-838:59:59.000000', 2155,
 'ab', 'é ☕ 𝄞 "dq" ''q'' \\ tab\tx', 'line1\nline2', 'café', 'naïve', 'Привет', 'カタカナ', 'ψ',
 x'00ff1000', x'', x'deadbeef', 'happy', 'a,c', '{"b": [1, 2.50, null], "a": "x"}',
 ST_GeomFromText('LINESTRING(0 0, 1 1)'), ST_GeomFromText('POINT(1 2)', 4326),
 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2001:db8::1'),
(2, 127, 0, false, 32767, 0, 8388607, 2147483647, 0, 9223372036854775807, 9223372036854775808,
 '-0.000000000000000000000000000001', -0.01, 16777217, -0.0,
 b'0', b'0', b'0',
 '0000-00-00', '0000-00-00 00:00:00', '1000-01-01 00:00:00.000001', '1970-01-01 00:00:01', '00:00:00',
 '-00:00:01.5', 1901,
 '', '', '', '', '', '', '', '',
 x'', x'00', x'', 'sad', '', '[]', NULL, NULL, '00000000-0000-0000-0000-000000000000', '::'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL);

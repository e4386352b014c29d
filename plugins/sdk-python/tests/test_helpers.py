"""Payloads, records, the status policy, query encoding, text decoding, run dates."""

import unittest

from crawlhost import out
from crawlhost.errors import Blocked, Other, Retryable
from crawlhost.http import decode, form_encode, status_error, with_query
from crawlhost.run import civil_date


class OutTest(unittest.TestCase):
    def test_tasks_and_records_are_compact_json(self) -> None:
        t = out.task("brand", "brand:A1", {"code": "A1", "name_ko": "라운드랩"}, phase=1)
        self.assertEqual((t.kind, t.key, t.phase), ("brand", "brand:A1", 1))
        self.assertEqual(t.payload, '{"code":"A1","name_ko":"라운드랩"}')
        self.assertEqual(out.payload(t)["name_ko"], "라운드랩")
        r = out.record("topic", "k", {"rating": 5.0, "n": None, "ok": True}, timestamp_ms=7)
        self.assertEqual((r.topic, r.key, r.timestamp_ms), ("topic", "k", 7))
        self.assertEqual(r.value, '{"rating":5.0,"n":null,"ok":true}')
        bad = out.task("x", "x", {})
        bad.payload = "{"
        with self.assertRaises(Other):
            out.payload(bad)
        with self.assertRaises(Other):
            out.record("t", "k", {"nan": float("nan")})


class HttpTest(unittest.TestCase):
    def test_statuses_map_to_the_retry_policy(self) -> None:
        self.assertIsNone(status_error(200, "u"))
        self.assertIsInstance(status_error(503, "u"), Retryable)
        self.assertIsInstance(status_error(408, "u"), Retryable)
        self.assertIsInstance(status_error(429, "u"), Blocked)
        error = status_error(404, "u")
        self.assertIsInstance(error, Other)
        self.assertEqual(str(error), "HTTP 404 from u")

    def test_query_encoding_matches_the_url_standard(self) -> None:
        self.assertEqual(form_encode("A&B c*~"), "A%26B+c*%7E")
        self.assertEqual(
            with_query("http://h/p", [("a", "1"), ("empty", ""), ("k", "라")]),
            "http://h/p?a=1&empty=&k=%EB%9D%BC",
        )
        self.assertEqual(with_query("http://h/p?x=1#f", {"a": "2"}), "http://h/p?x=1&a=2#f")

    def test_decodes_euc_kr(self) -> None:
        self.assertEqual(decode(bytes([0xBF, 0xC3, 0xB8, 0xAE, 0xBA, 0xEA, 0xBF, 0xB5]), "euc-kr"), "올리브영")
        self.assertEqual(decode("올리브영".encode(), None), "올리브영")
        self.assertEqual(decode(b"\xff", "no-such-charset"), "\ufffd")


class RunTest(unittest.TestCase):
    def test_dates_follow_the_offset(self) -> None:
        self.assertEqual(civil_date(1_724_097_600_000), "2024-08-19")
        self.assertEqual(civil_date(1_724_097_600_000 + 9 * 3_600_000), "2024-08-20")
        self.assertEqual(civil_date(0), "1970-01-01")
        self.assertEqual(civil_date(951_782_400_000), "2000-02-29")


if __name__ == "__main__":
    unittest.main()

"""`Tally`: identity fields skip and count items, optional fields become None."""

import unittest

from crawlhost.extract import Item, Tally, filled


class TallyTest(unittest.TestCase):
    def test_identity_fails_the_item_optional_does_not(self) -> None:
        tally = Tally("t")
        kept = tally.item(
            lambda: "a",
            lambda i: (i.identity("id", "x"), i.optional("price", None), i.optional("note", "  ")),
        )
        self.assertEqual(kept, ("x", None, None))

        def blank_identity(i: Item) -> str:
            i.optional("price", None)
            return i.identity("id", " ")

        self.assertIsNone(tally.item(lambda: "page 2 card #3", blank_identity))
        tally.item(lambda: "second", lambda i: i.identity("id", None))
        self.assertEqual((tally.kept, tally.skipped(), tally.skipped_by("id")), (1, 2, 2))
        self.assertEqual(tally.skips()["id"], (2, "page 2 card #3"))
        # Optional fields read before a missing identity are not counted.
        self.assertEqual((tally.misses_of("price"), tally.misses_of("note")), (1, 1))
        self.assertFalse(filled(float("nan")))
        self.assertTrue(filled(0) and filled(False) and filled(1.5))
        self.assertFalse(filled([]) or filled(""))

    def test_merge_located_and_report(self) -> None:
        a = Tally("t")
        a.skip("id", lambda: "u1")
        a.item(lambda: "x", lambda i: i.optional("p", None))
        b = Tally("t")
        b.skip("id", lambda: "u2")
        b.skip("name", lambda: "u3")
        b.item(lambda: "x", lambda i: i.optional("p", 1))
        a.merge(b)
        self.assertEqual((a.kept, a.skipped()), (2, 3))
        a = a.located("https://x/p?n=1")
        self.assertEqual(a.skips()["name"], (1, "u3 on https://x/p?n=1"))
        logged: list = []
        reported: list = []
        a.report_with(lambda level, m: logged.append((level, m)), lambda *r: reported.append(r))
        self.assertEqual(reported, [("t", "id", 2), ("t", "name", 1)])
        self.assertEqual(
            logged[0], ("warn", "skipped 2 of 5 `t` items without `id` (first at u1 on https://x/p?n=1)")
        )
        self.assertEqual(logged[-1], ("debug", "2 `t` items read; optional fields left null: p 1"))
        self.assertEqual(Tally("t").log_lines(), [])

    def test_copy_is_independent(self) -> None:
        a = Tally("t")
        a.skip("id", lambda: "here")
        twin = a.copy().located("url")
        self.assertEqual(a.skips()["id"], (1, "here"))
        self.assertEqual(twin.skips()["id"], (1, "here on url"))


if __name__ == "__main__":
    unittest.main()

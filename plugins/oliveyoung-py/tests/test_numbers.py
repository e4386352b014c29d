"""Amounts, counts, ratings and rates: the Rust plugin's cases, same answers."""

import unittest

from oliveyoung_py.numbers import has_rate, money, parse_amount, parse_count, parse_rating, rating_from_width
from oliveyoung_py.parse import id_from_href, query_param


class NumbersTest(unittest.TestCase):
    def test_amounts_counts_ratings(self) -> None:
        self.assertEqual(parse_amount("25,600"), 25_600)
        self.assertEqual(parse_amount(" (1,234) "), 1_234)
        self.assertIsNone(parse_amount("원"))
        self.assertIsNone(parse_amount("99999999999999999999999"))
        self.assertEqual(parse_amount("19,800원~25,000원"), 19_800)
        self.assertEqual(parse_amount("₩24,000"), 24_000)
        self.assertIsNone(parse_amount("1.2만"))
        self.assertIsNone(parse_amount("23%"))
        self.assertEqual(parse_count("(1,234)"), 1_234)
        self.assertEqual(parse_count("리뷰 1,234"), 1_234)
        self.assertEqual(parse_count("(1.2만)"), 12_000)
        self.assertEqual(parse_count("3천"), 3_000)
        self.assertIsNone(parse_count("4.5"))
        self.assertIsNone(parse_count("37%"))
        self.assertEqual(parse_rating("4.7점 (1.2만)"), 4.7)
        self.assertEqual(parse_rating("★4.7"), 4.7)
        self.assertIsNone(parse_rating("4.7 (1,234)"))
        self.assertIsNone(parse_rating("12점"))
        self.assertEqual(parse_rating("5점 만점에 4.7점"), 4.7)
        self.assertEqual(parse_rating("평점 5."), 5.0)
        self.assertEqual(money("19,800원~ <s>25,600원</s> 23% ₩1,000 3개"), [19_800, 25_600, 1_000])
        self.assertEqual(money("19,800원 (10ml당 1,320원) 100g당 990원"), [19_800])
        self.assertEqual(rating_from_width("width:94%"), 4.7)
        # Halves round away from zero, as Rust's f64::round does.
        self.assertEqual(rating_from_width("width:93%"), 4.7)
        self.assertEqual(rating_from_width("color:red; width: 100%"), 5.0)
        self.assertIsNone(rating_from_width("width:120%"))
        self.assertTrue(has_rate("25%"))
        self.assertFalse(has_rate("적립 0%") or has_rate("100%") or has_rate("25"))

    def test_hrefs(self) -> None:
        self.assertEqual(
            id_from_href("javascript:common.link.moveCategory('100000100010013','0','Drawer');"), "100000100010013"
        )
        self.assertEqual(id_from_href('javascript:common.link.moveCategory( "12" )'), "12")
        self.assertIsNone(id_from_href("javascript:common.link.moveCategory()"))
        self.assertEqual(query_param("/store/goods/getGoodsDetail.do?goodsNo=A4&x=1", "goodsNo"), "A4")


if __name__ == "__main__":
    unittest.main()

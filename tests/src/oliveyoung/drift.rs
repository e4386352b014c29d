//! Markup drift: the same catalogue served with its optional markup
//! perturbed, one [`Mutation`] at a time, the way the live site changes
//! between its own templates and over time. Identity markup (brand codes and
//! names, `li[data-goods-idx]`, `a[data-ref-goodsNo]`, `.prod-name`,
//! `div.prod-info`, `data-attr`) is left alone: a tolerant crawler must keep
//! every brand and product and report the perturbed fields through its
//! coverage instead.
//!
//! The pages apply the mutation while rendering (see `pages`), so a mutated
//! site is as deterministic as the normal one. `fixture-site --drift <name>`
//! serves one.

use std::fmt;

/// One perturbation of the optional markup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutation {
    /// Prices in other elements and classes: `<div class="cost"><span
    /// class="was">25,600원</span> <span class="now"><i>19,800</i>원</span></div>`
    /// instead of `p.prd_price` with `span.tx_org > span` / `span.tx_cur >
    /// span` (and no `del`/`strong` a parser could read as prices).
    PriceMarkup,
    /// No rating block (`.point`, `.num`) on any card.
    RatingRemoved,
    /// The sold-out badge renamed into an icon without text:
    /// `<i class="ico-oos">` instead of `<span class="soldout">일시품절</span>`.
    SoldOutRenamed,
    /// The discount marker moved out of `div.prod-info` into the thumbnail
    /// anchor, as `<em class="rate-off">-23%</em>`. A crawler that reads a
    /// promotion from a discount rate, or from a selling price below the
    /// list price, keeps it.
    DiscountMoved,
    /// An extra wrapper element around the content of every card.
    CardWrapper,
    /// Attribute names in upper case and values in single quotes or none
    /// (`DATA-REF-GOODSNO=A000…`, `CLASS='prod-info'`), on every product
    /// card and brand-list anchor.
    AttributeCase,
    /// The brand shop's heading renamed: `div.brand-top h2.tit` instead of
    /// `.brand-head .brand-name`.
    BrandHeadingRenamed,
    /// A category's brand filter as chips, `<label class="brand-chip"><input
    /// type="checkbox" value="<code>"><span>name</span></label>`, without
    /// `data-brndnm`: a crawler that reads only that attribute lists every
    /// brand in no category (an empty list, not a missing field).
    CategoryFilterRenamed,
}

impl Mutation {
    /// Every mutation, in a fixed order.
    pub const ALL: [Mutation; 8] = [
        Mutation::PriceMarkup,
        Mutation::RatingRemoved,
        Mutation::SoldOutRenamed,
        Mutation::DiscountMoved,
        Mutation::CardWrapper,
        Mutation::AttributeCase,
        Mutation::BrandHeadingRenamed,
        Mutation::CategoryFilterRenamed,
    ];

    /// The name `fixture-site --drift` takes.
    pub fn name(self) -> &'static str {
        match self {
            Mutation::PriceMarkup => "price-markup",
            Mutation::RatingRemoved => "rating-removed",
            Mutation::SoldOutRenamed => "soldout-renamed",
            Mutation::DiscountMoved => "discount-moved",
            Mutation::CardWrapper => "card-wrapper",
            Mutation::AttributeCase => "attribute-case",
            Mutation::BrandHeadingRenamed => "brand-heading-renamed",
            Mutation::CategoryFilterRenamed => "category-filter-renamed",
        }
    }

    /// The mutation named `name`.
    pub fn from_name(name: &str) -> Option<Mutation> {
        Mutation::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The record fields (topic, field) whose source markup this mutation
    /// changes beyond what the `oliveyoung` plugin's selectors and their
    /// fallbacks read: the fields whose coverage must fall and that a drift
    /// alarm must name. Mutations that only change what a parser repairs or
    /// a descendant selector ignores perturb nothing.
    pub fn perturbed(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Mutation::PriceMarkup => &[
                ("oliveyoung-products", "price_current"),
                ("oliveyoung-products", "price_original"),
            ],
            Mutation::RatingRemoved => &[
                ("oliveyoung-products", "rating"),
                ("oliveyoung-products", "review_count"),
            ],
            Mutation::SoldOutRenamed => &[("oliveyoung-products", "sold_out")],
            Mutation::DiscountMoved | Mutation::CardWrapper | Mutation::AttributeCase => &[],
            Mutation::BrandHeadingRenamed => &[("oliveyoung", "shop_brand_name")],
            Mutation::CategoryFilterRenamed => &[("oliveyoung", "category")],
        }
    }
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Rewrite the attributes of every start tag in `html`: names in upper
/// case, values alternately in single quotes and (when they are a plain
/// token) unquoted. Text, comments and scripts are left alone.
pub fn shout_attributes(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 16);
    let mut rest = html;
    let mut flip = false;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[..=gt];
        let is_start = tag[1..].starts_with(|c: char| c.is_ascii_alphabetic());
        if is_start && !tag.contains('\'') {
            out.push_str(&rewrite_tag(tag, &mut flip));
        } else {
            out.push_str(tag);
        }
        rest = &rest[gt + 1..];
    }
    out.push_str(rest);
    out
}

/// One start tag with attributes `name="value"` rewritten (see
/// [`shout_attributes`]).
fn rewrite_tag(tag: &str, flip: &mut bool) -> String {
    let mut out = String::with_capacity(tag.len() + 8);
    let mut rest = tag;
    // `name="value"` pairs: find `="`, the name before it, the value to the
    // next `"`.
    while let Some(eq) = rest.find("=\"") {
        let name_start = rest[..eq]
            .rfind(|c: char| c.is_whitespace())
            .map_or(0, |i| i + 1);
        let Some(close) = rest[eq + 2..].find('"') else {
            break;
        };
        let value = &rest[eq + 2..eq + 2 + close];
        out.push_str(&rest[..name_start]);
        out.push_str(&rest[name_start..eq].to_ascii_uppercase());
        let token = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        *flip = !*flip;
        if token && *flip {
            out.push('=');
            out.push_str(value);
        } else {
            out.push_str("='");
            out.push_str(value);
            out.push('\'');
        }
        rest = &rest[eq + 2 + close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Mutation::ALL {
            assert_eq!(Mutation::from_name(m.name()), Some(m));
        }
        assert_eq!(Mutation::from_name("nope"), None);
        assert!(Mutation::ALL.len() >= 6);
    }

    #[test]
    fn attributes_change_case_and_quotes() {
        let html = r#"<li data-goods-idx="1" class="flag"><a href="/x?a=1&amp;b=2" data-ref-goodsNo="A01">t "q"</a></li>"#;
        let out = shout_attributes(html);
        assert_eq!(
            out,
            r#"<li DATA-GOODS-IDX=1 CLASS='flag'><a HREF='/x?a=1&amp;b=2' DATA-REF-GOODSNO='A01'>t "q"</a></li>"#
        );
    }
}

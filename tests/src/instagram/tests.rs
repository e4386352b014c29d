use super::*;
use crate::oliveyoung::Site;
use crate::twitter::BrandSeed;

fn corpus() -> Corpus {
    Corpus::generate(7, &BrandSeed::from_site(&Site::generate(7)))
}

#[test]
fn deterministic_with_paged_grids_and_varied_posts() {
    let a = corpus();
    assert_eq!(a.posts, corpus().posts);
    let brands = BrandSeed::from_site(&Site::generate(7));
    let with_posts = brands
        .iter()
        .filter(|b| !a.tag(&tag_of(&b.name_ko)).is_empty())
        .count();
    assert!(
        (10..=80).contains(&with_posts),
        "{with_posts} brands with posts"
    );
    assert!(a.posts.iter().any(|p| p.likes.is_none()));
    assert!(a.posts.iter().any(|p| p.images.len() == 1));
    assert!(a.posts.iter().any(|p| p.images.len() == 5));
    assert!(a.posts.iter().any(|p| p.caption.contains('\n')));
    assert!(
        a.posts
            .iter()
            .any(|p| p.caption.contains(" & ") && p.caption.contains('<'))
    );
    // Some tags need more than one scroll.
    let tags: std::collections::BTreeSet<&str> = a.posts.iter().map(|p| p.tag.as_str()).collect();
    assert!(tags.iter().any(|t| a.tag(t).len() > PAGE_SIZE));
}

#[test]
fn pages_cover_a_tag_once_in_order() {
    let c = corpus();
    let tag = c
        .posts
        .iter()
        .map(|p| p.tag.clone())
        .find(|t| c.tag(t).len() > PAGE_SIZE)
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let (items, next) = c.page(&tag, cursor);
        seen.extend(items.iter().map(|p| p.code.clone()));
        match next {
            Some(n) => cursor = n,
            None => break,
        }
    }
    let all: Vec<String> = c.tag(&tag).iter().map(|p| p.code.clone()).collect();
    assert_eq!(seen, all);
    let dates: Vec<i64> = c.tag(&tag).iter().map(|p| p.taken_at_ms).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn shells_carry_no_content() {
    let c = corpus();
    let p = &c.posts[0];
    let tag_html = pages::tag(&p.tag, false);
    let post_html = pages::post(&p.code, false);
    assert!(!tag_html.contains(&p.code));
    assert!(!tag_html.contains(&p.username) && !post_html.contains(&p.username));
    assert!(!post_html.contains(&p.images[0]));
    assert!(pages::tag(&p.tag, true).contains("\"challenge\":true"));
}

#[test]
fn truth_has_the_original_fields() {
    let c = corpus();
    let brands = BrandSeed::from_site(&Site::generate(7));
    let t = c.ground_truth("http://x.test/", &brands);
    assert_eq!(t.records.len(), c.posts.len());
    let p = &c.posts[0];
    let r = &t.records[&p.code];
    assert_eq!(r["post_url"], format!("http://x.test/p/{}/", p.code));
    assert_eq!(r["saved_imgs"][0], format!("http://x.test{}", p.images[0]));
    for f in [
        "brand",
        "post_url",
        "full_text",
        "username",
        "like",
        "saved_imgs",
        "date",
    ] {
        assert!(r.get(f).is_some(), "{f}");
    }
}

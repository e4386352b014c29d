//! The task graph of one run, as data: task keys, kinds, phases, payloads,
//! and the state keys the phase-0 tasks leave for the phase-1 join. Keys are
//! a contract (the host's tests assert them).
//!
//! ```text
//! phase 0: categories -> category:<id>:1 -> category:<id>:<p> (p >= 2)
//! phase 1: brand-list  -> brand:<code>
//! ```
//! The host finishes every phase-0 task before starting a phase-1 one, so
//! `brand-list` sees every category page in state.

use crawlhost_sdk::{CrawlError, Task, out};
use serde::{Deserialize, Serialize};

use crate::records::BrandInfo;

/// Kind of the `categories` task.
pub const KIND_CATEGORIES: &str = "categories";
/// Kind of `category:<id>:<page>` tasks.
pub const KIND_CATEGORY: &str = "category";
/// Kind of the `brand-list` task.
pub const KIND_BRAND_LIST: &str = "brand-list";
/// Kind of `brand:<code>` tasks.
pub const KIND_BRAND: &str = "brand";

/// Payload of a category page task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryPayload {
    /// `dispCatNo`.
    pub id: String,
    /// Page, from 1.
    pub page: u32,
}

/// The seed task: read the category landing (phase 0).
pub fn categories_task() -> Task {
    Task {
        key: "categories".into(),
        kind: KIND_CATEGORIES.into(),
        payload: "{}".into(),
        phase: 0,
    }
}

/// One page of a category's brand filter (phase 0).
pub fn category_task(id: &str, page: u32) -> Result<Task, CrawlError> {
    out::task(
        KIND_CATEGORY,
        format!("category:{id}:{page}"),
        &CategoryPayload {
            id: id.to_string(),
            page,
        },
    )
}

/// The join over all category pages plus the brand list (phase 1).
pub fn brand_list_task() -> Task {
    Task {
        key: "brand-list".into(),
        kind: KIND_BRAND_LIST.into(),
        payload: "{}".into(),
        phase: 1,
    }
}

/// One brand's shop (phase 1).
pub fn brand_task(brand: &BrandInfo) -> Result<Task, CrawlError> {
    Ok(out::task(KIND_BRAND, format!("brand:{}", brand.code), brand)?.in_phase(1))
}

/// State key: the run's categories, `[{id, name}]`.
pub fn categories_key(run_id: &str) -> String {
    format!("run/{run_id}/categories")
}

/// State key: brand names on one page of a category.
pub fn category_page_key(run_id: &str, id: &str, page: u32) -> String {
    format!("run/{run_id}/cat/{id}/{page}")
}

/// State key: the number of pages of a category that were scheduled.
pub fn category_pages_key(run_id: &str, id: &str) -> String {
    format!("run/{run_id}/cat/{id}/pages")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_kinds_and_phases() {
        let t = categories_task();
        assert_eq!(
            (t.key.as_str(), t.kind.as_str(), t.phase),
            ("categories", "categories", 0)
        );
        let t = category_task("100000100010013", 2).unwrap();
        assert_eq!(
            (t.key.as_str(), t.kind.as_str(), t.phase),
            ("category:100000100010013:2", "category", 0)
        );
        let p: CategoryPayload = out::payload(&t).unwrap();
        assert_eq!(
            p,
            CategoryPayload {
                id: "100000100010013".into(),
                page: 2
            }
        );
        let t = brand_list_task();
        assert_eq!(
            (t.key.as_str(), t.kind.as_str(), t.phase),
            ("brand-list", "brand-list", 1)
        );
        let info = BrandInfo {
            code: "A000123".into(),
            name_ko: "라운드랩".into(),
            name_en: "Round Lab".into(),
            categories: vec!["스킨케어_스킨/토너".into()],
        };
        let t = brand_task(&info).unwrap();
        assert_eq!(
            (t.key.as_str(), t.kind.as_str(), t.phase),
            ("brand:A000123", "brand", 1)
        );
        assert_eq!(out::payload::<BrandInfo>(&t).unwrap(), info);
        assert_eq!(categories_key("r1"), "run/r1/categories");
        assert_eq!(category_page_key("r1", "9", 3), "run/r1/cat/9/3");
        assert_eq!(category_pages_key("r1", "9"), "run/r1/cat/9/pages");
    }
}

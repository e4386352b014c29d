//! The vocabulary the X fixture writes tweets and users with: templates per
//! language (with `{ko}`, `{en}` and `{item}` holes), product words, and
//! the pieces of user names. Data only.

/// A tweet template: language, text with holes, and whether the item word
/// comes from the Korean, English or Japanese list.
pub struct Template {
    /// `lang` as X reports it.
    pub lang: &'static str,
    /// Text with `{ko}` (Korean brand name), `{en}` (English brand name) and
    /// `{item}` holes.
    pub text: &'static str,
}

/// Templates that name a brand. Brand names are always followed by a space
/// or punctuation, as people write them.
pub const BRAND_TEMPLATES: &[Template] = &[
    Template {
        lang: "ko",
        text: "{ko} {item} 써봤는데 진짜 촉촉해요 👍",
    },
    Template {
        lang: "ko",
        text: "올리브영 세일에서 {ko} 득템! {item} 후기 남겨요",
    },
    Template {
        lang: "ko",
        text: "{ko} 신상 {item} 나왔대요 ㅠㅠ 사야 돼",
    },
    Template {
        lang: "ko",
        text: "요즘 {ko} {item}만 써요. 피부결이 달라짐",
    },
    Template {
        lang: "ko",
        text: "{ko} ({en}) {item} 재구매 세 번째 🛒",
    },
    Template {
        lang: "ko",
        text: "#{ko} #올리브영 #{item}",
    },
    Template {
        lang: "ko",
        text: "{ko} 후기\n\"인생템\" 등극 🥹 {item} 강추",
    },
    Template {
        lang: "ko",
        text: "솔직히 {ko} {item}은 별로였어요… 저한텐 안 맞음",
    },
    Template {
        lang: "en",
        text: "Just tried the {en} {item} and my skin is glowing ✨",
    },
    Template {
        lang: "en",
        text: "{en} haul from Olive Young 🛍️ the {item} is worth it",
    },
    Template {
        lang: "en",
        text: "Is {en} worth the hype? Trying their {item} this week",
    },
    Template {
        lang: "en",
        text: "PSA: {en} is on sale at Olive Young right now",
    },
    Template {
        lang: "en",
        text: "my holy grail {item}: {en}, no contest",
    },
    // `&`, `<` and `>`, which X escapes; the last one was typed as an
    // entity by its author (X sends `&amp;lt;3`).
    Template {
        lang: "ko",
        text: "{ko} {item} & 클렌징폼 세트로 샀어요 <3",
    },
    Template {
        lang: "en",
        text: "{en} {item} > every other {item} I've tried",
    },
    Template {
        lang: "en",
        text: "{en} x Olive Young -> yes & yes",
    },
    Template {
        lang: "en",
        text: "my phone turns hearts into &lt;3, anyway {en} {item} &lt;3",
    },
    Template {
        lang: "ja",
        text: "「{en}」の{item}、めっちゃ良かった！",
    },
    Template {
        lang: "ja",
        text: "韓国コスメ {en} の{item}を購入しました #{ko}",
    },
];

/// Tweets about skin care that name no brand (they never match a brand
/// query).
pub const NOISE: &[(&str, &str)] = &[
    ("ko", "오늘 날씨 너무 좋다 ☀️ 선크림 필수"),
    ("ko", "올리브영 세일 언제까지예요?"),
    ("en", "new skincare routine who dis"),
    ("en", "drinking water is the real glow serum tbh"),
    ("ja", "今日のスキンケア完了"),
];

/// Product words, Korean.
pub const ITEMS_KO: &[&str] = &[
    "토너",
    "세럼",
    "크림",
    "선크림",
    "클렌징폼",
    "앰플",
    "토너패드",
    "립틴트",
    "쿠션",
];
/// Product words, English.
pub const ITEMS_EN: &[&str] = &[
    "toner",
    "serum",
    "cream",
    "sunscreen",
    "cleanser",
    "ampoule",
    "toner pads",
    "lip tint",
    "cushion",
];
/// Product words, Japanese.
pub const ITEMS_JA: &[&str] = &["化粧水", "美容液", "クリーム", "日焼け止め", "クッション"];

/// First parts of user handles.
pub const HANDLE_HEADS: &[&str] = &[
    "glow", "skin", "beauty", "cosme", "olive", "dewy", "mina", "jiwoo", "haru", "yuna", "seoul",
    "kbeauty", "daily", "soft", "peach",
];
/// Second parts of user handles.
pub const HANDLE_TAILS: &[&str] = &[
    "diary", "log", "lover", "addict", "review", "notes", "jjang", "room", "holic", "mood",
];
/// Korean given names for display names.
pub const NAMES_KO: &[&str] = &[
    "민지", "서연", "지우", "하은", "수아", "예린", "도윤", "유나", "채원", "지민",
];
/// English display names.
pub const NAMES_EN: &[&str] = &[
    "Mina", "Grace", "Sophie", "Hannah", "Chloe", "Jenny", "Erin", "Olivia", "Kate", "Luna",
];
/// Decorations people put in display names.
pub const NAME_DECOR: &[&str] = &["", "", "", " 🌷", " ✨", " | 화장품 리뷰", " (skincare)"];

//! The vocabulary the Oliveyoung generator draws from: the category tree,
//! Hangul syllables with their romanization (for brand names), and the words
//! product names are made of. Data only, no logic beyond small lookups.

/// The 24 display categories as `(big, small)`, in the order of the drawer on
/// the category landing page. The category name the site shows is
/// `<big>_<small>`.
pub const CATEGORIES: [(&str, &str); 24] = [
    ("스킨케어", "스킨/토너"),
    ("스킨케어", "에센스/세럼/앰플"),
    ("스킨케어", "크림"),
    ("스킨케어", "로션"),
    ("스킨케어", "미스트/오일"),
    ("마스크팩", "시트팩"),
    ("마스크팩", "패드"),
    ("마스크팩", "페이셜팩"),
    ("클렌징", "클렌징폼/젤"),
    ("클렌징", "오일/밤"),
    ("클렌징", "워터/밀크"),
    ("선케어", "선크림"),
    ("선케어", "선스틱"),
    ("메이크업", "립메이크업"),
    ("메이크업", "베이스메이크업"),
    ("메이크업", "아이메이크업"),
    ("바디케어", "샤워/입욕"),
    ("바디케어", "로션/오일"),
    ("헤어케어", "샴푸/린스"),
    ("헤어케어", "트리트먼트/팩"),
    ("향수/디퓨저", "여성향수"),
    ("향수/디퓨저", "남성향수"),
    ("향수/디퓨저", "디퓨저"),
    ("맨즈케어", "스킨케어"),
];

/// How popular each category is (relative weight when brands pick their
/// categories), so some categories list three pages of brands and some one.
pub const CATEGORY_WEIGHTS: [u64; 24] = [
    6, 6, 5, 3, 2, 4, 3, 2, 4, 3, 2, 4, 2, 5, 4, 3, 2, 2, 2, 2, 2, 1, 1, 1,
];

/// Hangul syllables and a romanization, the pieces brand names are built of.
pub const SYLLABLES: &[(&str, &str)] = &[
    ("라", "ra"),
    ("운", "un"),
    ("드", "de"),
    ("아", "a"),
    ("누", "nu"),
    ("이", "i"),
    ("니", "ni"),
    ("스", "s"),
    ("프", "pe"),
    ("리", "ri"),
    ("토", "to"),
    ("모", "mo"),
    ("메", "me"),
    ("디", "di"),
    ("힐", "hil"),
    ("코", "ko"),
    ("알", "al"),
    ("엑", "ek"),
    ("셀", "sel"),
    ("클", "kl"),
    ("오", "o"),
    ("에", "e"),
    ("뛰", "twi"),
    ("하", "ha"),
    ("우", "u"),
    ("페", "pe"),
    ("네", "ne"),
    ("처", "cheo"),
    ("비", "bi"),
    ("욘", "yon"),
    ("마", "ma"),
    ("녹", "nok"),
    ("설", "seol"),
    ("화", "hwa"),
    ("수", "su"),
    ("려", "ryeo"),
    ("미", "mi"),
    ("샤", "sha"),
    ("더", "deo"),
    ("닥", "dak"),
    ("터", "teo"),
    ("지", "ji"),
    ("브", "beu"),
    ("잉", "ing"),
    ("그", "geu"),
    ("린", "rin"),
    ("벨", "bel"),
    ("로", "ro"),
    ("즈", "jeu"),
    ("헤", "he"),
    ("티", "ti"),
    ("엘", "el"),
    ("루", "ru"),
    ("엔", "en"),
    ("소", "so"),
    ("다", "da"),
    ("온", "on"),
    ("유", "yu"),
    ("세", "se"),
    ("빈", "bin"),
    ("한", "han"),
    ("율", "yul"),
    ("정", "jeong"),
    ("샘", "saem"),
    ("물", "mul"),
    ("숲", "sup"),
    ("별", "byeol"),
    ("달", "dal"),
    ("빛", "bit"),
    ("봄", "bom"),
    ("꽃", "kkot"),
    ("결", "gyeol"),
    ("담", "dam"),
    ("솔", "sol"),
    ("윤", "yun"),
    ("채", "chae"),
    ("향", "hyang"),
    ("연", "yeon"),
    ("해", "hae"),
    ("든", "deun"),
    ("산", "san"),
    ("들", "deul"),
    ("나", "na"),
    ("쥬", "jyu"),
    ("베", "be"),
    ("카", "ka"),
    ("파", "pa"),
    ("키", "ki"),
];

/// Optional brand-name endings: `(korean, english)`. The Korean ending is
/// glued on; some English endings carry characters that need HTML escaping.
pub const BRAND_SUFFIXES: &[(&str, &str)] = &[
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("", ""),
    ("랩", " Lab"),
    ("스킨", " Skin"),
    ("뷰티", " Beauty"),
    ("앤코", " & Co."),
    (" 더마", " Derma"),
    ("보타닉", " Botanic"),
    (" 파리", " Paris"),
    (" 서울", " Seoul"),
    ("코스메틱", " Cosmetics"),
];

/// Product types per big category (the `big` of [`CATEGORIES`]).
pub fn product_types(big: &str) -> &'static [&'static str] {
    match big {
        "스킨케어" => &[
            "토너",
            "에센스",
            "세럼",
            "앰플",
            "크림",
            "로션",
            "미스트",
            "페이스오일",
        ],
        "마스크팩" => &["시트마스크", "토너패드", "수면팩", "워시오프팩"],
        "클렌징" => &["클렌징폼", "클렌징오일", "클렌징밤", "클렌징워터"],
        "선케어" => &["선크림", "선스틱", "선쿠션", "선세럼"],
        "메이크업" => &[
            "립틴트",
            "쿠션",
            "파운데이션",
            "아이섀도우 팔레트",
            "마스카라",
        ],
        "바디케어" => &["바디워시", "바디로션", "바디오일"],
        "헤어케어" => &["샴푸", "헤어트리트먼트", "헤어에센스"],
        "향수/디퓨저" => &["오드퍼퓸", "오드뚜왈렛", "디퓨저"],
        _ => &["올인원 로션", "올인원 플루이드"],
    }
}

/// Product lines / key ingredients.
pub const PRODUCT_LINES: &[&str] = &[
    "수분",
    "진정",
    "시카",
    "비타C",
    "히알루론",
    "어성초",
    "레티놀",
    "콜라겐",
    "녹차",
    "마데카",
    "병풀",
    "세라마이드",
    "판테놀",
    "쑥",
    "감초",
    "자작나무",
    "독도",
    "약산성",
    "저자극",
    "모공",
    "브라이트닝",
    "블랙티",
    "티트리",
    "로즈",
    "라벤더",
    "PDRN",
    "AC",
    "1025",
];

/// Sizes printed at the end of product names.
pub const VOLUMES: &[&str] = &[
    "30ml", "50ml", "80ml", "100ml", "150ml", "200ml", "300ml", "500ml", "30g", "50g", "10매",
    "70매", "15g", "3.5g",
];

/// Promotion prefixes some product names carry.
pub const NAME_PREFIXES: &[&str] = &[
    "[1+1] ",
    "[기획] ",
    "[단독기획] ",
    "[NEW] ",
    "[올영픽] ",
    "[한정기획] ",
];

/// Endings that make a product name a set (with `&` and parentheses, which
/// must survive HTML escaping).
pub const NAME_SETS: &[&str] = &[" 세트 (본품+리필)", " & 미니 증정", " 더블 기획"];

/// The basic Hangul initial consonants, the headings of the 가나다 index.
pub const INITIALS: [char; 14] = [
    'ㄱ', 'ㄴ', 'ㄷ', 'ㄹ', 'ㅁ', 'ㅂ', 'ㅅ', 'ㅇ', 'ㅈ', 'ㅊ', 'ㅋ', 'ㅌ', 'ㅍ', 'ㅎ',
];

/// The 가나다-index heading of a word: the basic initial consonant of its
/// first syllable (double consonants file under their single form), or `#`.
pub fn initial_of(word: &str) -> char {
    // Choseong order in Unicode: ㄱ ㄲ ㄴ ㄷ ㄸ ㄹ ㅁ ㅂ ㅃ ㅅ ㅆ ㅇ ㅈ ㅉ ㅊ ㅋ ㅌ ㅍ ㅎ.
    const BASIC: [usize; 19] = [0, 0, 1, 2, 2, 3, 4, 5, 5, 6, 6, 7, 8, 8, 9, 10, 11, 12, 13];
    match word.chars().next() {
        Some(c @ '가'..='힣') => INITIALS[BASIC[(c as usize - 0xAC00) / 588]],
        _ => '#',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials() {
        assert_eq!(initial_of("라운드랩"), 'ㄹ');
        assert_eq!(initial_of("꽃결"), 'ㄱ');
        assert_eq!(initial_of("힐"), 'ㅎ');
        assert_eq!(initial_of("Abc"), '#');
    }

    #[test]
    fn syllables_are_single_hangul() {
        for (ko, en) in SYLLABLES {
            assert_eq!(ko.chars().count(), 1);
            assert!(('가'..='힣').contains(&ko.chars().next().unwrap()));
            assert!(en.chars().all(|c| c.is_ascii_lowercase()));
        }
        let names: std::collections::BTreeSet<_> =
            CATEGORIES.iter().map(|(b, s)| format!("{b}_{s}")).collect();
        assert_eq!(names.len(), 24);
    }
}

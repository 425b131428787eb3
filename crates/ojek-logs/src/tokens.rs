//! How the message is cut into words: exactly like Tantivy's `default` tokenizer
//! (`SimpleTokenizer`, then `RemoveLongFilter::limit(40)`, then `LowerCaser`), so that
//! [`evaluate`](crate::query::evaluate) and the index agree on what a word is.
//!
//! - A token is a maximal run of characters for which [`char::is_alphanumeric`] holds; every
//!   other character separates tokens.
//! - Tokens of [`MAX_TOKEN_BYTES`] UTF-8 bytes or more (measured before lowercasing) are
//!   dropped, but still take up a position, so a phrase cannot jump over them.
//! - Tokens are lowercased character by character (`char::to_lowercase`, no final-sigma rule).

/// Tokens this long (in UTF-8 bytes, before lowercasing) or longer are not indexed.
///
/// Tantivy's `RemoveLongFilter::limit(40)` keeps a token when `len < 40`.
pub const MAX_TOKEN_BYTES: usize = 40;

/// The words of `text`, lowercased, as the index sees them.
///
/// ```
/// assert_eq!(ojek_logs::tokens("GET /api/Users-42 failed"), ["get", "api", "users", "42", "failed"]);
/// ```
pub fn tokens(text: &str) -> Vec<String> {
    positioned_tokens(text)
        .into_iter()
        .map(|(_, token)| token)
        .collect()
}

/// The words of `text` with their positions (0-based, counting dropped long tokens too), as
/// Tantivy's phrase queries use them.
///
/// ```
/// let long = "x".repeat(40);
/// let text = format!("a {long} b");
/// assert_eq!(ojek_logs::positioned_tokens(&text), [(0, "a".to_string()), (2, "b".to_string())]);
/// ```
pub fn positioned_tokens(text: &str) -> Vec<(usize, String)> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .enumerate()
        .filter(|(_, word)| word.len() < MAX_TOKEN_BYTES)
        .map(|(position, word)| (position, lowercase(word)))
        .collect()
}

/// Lowercases like Tantivy's `LowerCaser`: per character, without `str::to_lowercase`'s
/// special case for a final sigma.
pub(crate) fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        text.chars().flat_map(char::to_lowercase).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_everything_not_alphanumeric() {
        assert_eq!(
            tokens("user_id=42, path=/a.b; ERROR!"),
            ["user", "id", "42", "path", "a", "b", "error"]
        );
        assert_eq!(tokens("foo-bar"), ["foo", "bar"]);
        assert!(tokens("-- !! ..").is_empty());
    }

    #[test]
    fn keeps_unicode_letters_and_digits() {
        assert_eq!(tokens("Größe ÜBER 5km"), ["größe", "über", "5km"]);
        assert_eq!(tokens("日本語 テスト"), ["日本語", "テスト"]);
    }

    #[test]
    fn drops_tokens_of_forty_bytes_or_more_keeping_their_position() {
        let thirty_nine = "a".repeat(39);
        let forty = "b".repeat(40);
        let text = format!("{thirty_nine} {forty} c");
        assert_eq!(
            positioned_tokens(&text),
            [(0, thirty_nine.clone()), (2, "c".to_string())]
        );
        // Bytes, not characters: 20 two-byte characters are 40 bytes.
        assert!(tokens(&"é".repeat(20)).is_empty());
        assert_eq!(tokens(&"é".repeat(19)).len(), 1);
    }

    #[test]
    fn lowercases_per_character_without_final_sigma() {
        // str::to_lowercase would give "ς" at the end of a word; Tantivy gives "σ".
        assert_eq!(tokens("ΟΔΟΣ"), ["οδοσ"]);
    }
}

//! Tests of the converters: tables of chosen cases, then properties over generated hostile text,
//! checked by parsing the output with a CommonMark parser (GitHub's extensions on) rather than by
//! looking for strings.

use std::collections::HashMap;

use proptest::prelude::*;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::*;

fn people() -> HashMap<String, String> {
    HashMap::from([
        ("U1".to_string(), "alice".to_string()),
        ("U2".to_string(), "Bob *B* <b>".to_string()),
    ])
}

/// Every extension a renderer of the draft might switch on (GitHub, GitLab, Obsidian…).
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM
        | Options::ENABLE_DEFINITION_LIST
        | Options::ENABLE_WIKILINKS
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
}

/// What a reader sees of inert Markdown: its text, with line breaks as `\n` and paragraphs
/// separated by a blank line; links as `[label](dest)`. Panics (failing the test) on any other
/// structure: a heading, list, quote, code, HTML, table, emphasis, image, footnote, math.
fn visible(markdown: &str) -> String {
    let mut out = String::new();
    let mut paragraphs = 0;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Paragraph) => {
                if paragraphs > 0 {
                    out.push_str("\n\n");
                }
                paragraphs += 1;
            }
            Event::End(TagEnd::Paragraph) => {}
            Event::Text(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push('\n'),
            Event::Start(Tag::Link { dest_url, .. }) => {
                assert!(
                    ["http://", "https://", "mailto:"]
                        .iter()
                        .any(|s| dest_url.to_ascii_lowercase().starts_with(s)),
                    "link to {dest_url} in {markdown:?}"
                );
                out.push('[');
            }
            Event::End(TagEnd::Link) => out.push_str("](…)"),
            other => panic!("{other:?} in {markdown:?}"),
        }
    }
    out
}

/// What `escape_markdown` promises to keep of `text`: each line trimmed, without control
/// characters, tabs as spaces, runs of blank lines as one, none at either end.
fn normalized(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<String> = Vec::new();
    let mut blank = false;
    for line in text.split('\n') {
        let line: String = line
            .chars()
            .filter_map(|c| match c {
                '\t' => Some(' '),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect();
        let line = line.trim();
        if line.is_empty() {
            blank = !lines.is_empty();
            continue;
        }
        if blank {
            lines.push(String::new());
        }
        lines.push(line.to_string());
        blank = false;
    }
    lines.join("\n")
}

#[test]
fn plain_text_is_escaped_where_markdown_would_read_it() {
    for (input, expected) in [
        ("Checkout is down", "Checkout is down"),
        ("# not a heading", "\\# not a heading"),
        ("  ## indented heading", "\\## indented heading"),
        (
            "C# and F# are fine, issue #42 is not",
            "C# and F# are fine, issue \\#42 is not",
        ),
        ("Title #", "Title \\#"),
        ("<script>alert(1)</script>", "\\<script>alert(1)\\</script>"),
        ("a | b", "a \\| b"),
        ("*bold* and **strong**", "\\*bold\\* and \\*\\*strong\\*\\*"),
        ("db_primary_1 and _italic_", "db_primary_1 and \\_italic\\_"),
        ("__init__", "\\_\\_init\\_\\_"),
        ("~strike~ `code` ```", "\\~strike\\~ \\`code\\` \\`\\`\\`"),
        ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
        (
            "![img](https://e.example/x.png)",
            "!\\[img\\](https://e.example/x.png)",
        ),
        ("- item", "\\- item"),
        ("+ item", "\\+ item"),
        ("> quote -> arrow", "\\> quote -> arrow"),
        ("1. first", "1\\. first"),
        ("2026) year", "2026\\) year"),
        ("version 1.2", "version 1.2"),
        ("===", "\\==="),
        (": definition", "\\: definition"),
        ("lost $12k and $5k", "lost \\$12k and \\$5k"),
        ("&lt;b&gt; &#60; &amp", "\\&lt;b\\&gt; \\&#60; \\&amp"),
        (
            "R&D, salt & pepper, AT&T is up",
            "R&D, salt & pepper, AT&T is up",
        ),
        ("call AT&T", "call AT\\&T"),
        ("back\\slash", "back\\\\slash"),
        ("[^1]: footnote", "\\[^1\\]: footnote"),
        ("", ""),
        ("   ", ""),
    ] {
        assert_eq!(escape_markdown_line(input), expected, "{input:?}");
        assert_eq!(escape_markdown(input), expected, "{input:?}");
    }
}

#[test]
fn lines_become_hard_breaks_and_paragraphs_survive() {
    for (input, expected) in [
        ("one\ntwo", "one\\\ntwo"),
        ("one\r\ntwo\rthree", "one\\\ntwo\\\nthree"),
        ("one\n\n\n\ntwo", "one\n\ntwo"),
        ("\n\none\n\n", "one"),
        ("one\n    code?\n# heading?", "one\\\ncode?\\\n\\# heading?"),
        ("ends with \\\nnext", "ends with \\\\\\\nnext"),
        ("tab\there", "tab here"),
        ("bell\u{7}\u{0}", "bell"),
        ("&\u{7}amp; a_\u{0}b", "\\&amp; a_b"),
    ] {
        assert_eq!(escape_markdown(input), expected, "{input:?}");
    }
    assert_eq!(escape_markdown_line("one\n\ntwo  three"), "one two three");
}

#[test]
fn continuation_lines_are_indented_to_stay_in_their_list_item() {
    assert_eq!(
        escape_markdown_indented("one\n# two\n\nthree", 2),
        "one\\\n  \\# two\n\n  three"
    );
    assert_eq!(indent_continuation("a\\\nb\n\nc", 4), "a\\\n    b\n\n    c");
    assert_eq!(indent_continuation("single", 4), "single");
}

#[test]
fn slack_markup_becomes_readable_markdown() {
    let people = people();
    for (input, expected) in [
        ("<@U1> is on it", "@alice is on it"),
        ("<@U9|carol> joined", "@carol joined"),
        ("<@U9>", "@U9"),
        ("<@U2>", "@Bob \\*B\\* \\<b>"),
        ("see <#C1|general> and <#C2>", "see \\#general and \\#C2"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!subteam^S1|@oncall> <!subteam^S2>", "@oncall @S2"),
        ("<!date^1392734382^{date_num}|Feb 18, 2014>", "Feb 18, 2014"),
        (
            "<https://grafana.example/d/1?a=1&amp;b=2|dashboard>",
            "[dashboard](https://grafana.example/d/1?a=1&b=2)",
        ),
        (
            "<https://x.example>",
            "[https://x.example](https://x.example)",
        ),
        (
            "<https://x.example/a)b(c|x](y)>",
            "[x\\](y)](https://x.example/a%29b%28c)",
        ),
        // Not a link Slack makes: text, brackets and all.
        ("<https://x.example/a b|x>", "\\<https://x.example/a b\\|x>"),
        ("<mailto:a@b.example|write>", "[write](mailto:a@b.example)"),
        (
            "<javascript:alert(1)|click me>",
            "\\<javascript:alert(1)\\|click me>",
        ),
        ("<slack://open>", "\\<slack://open>"),
        ("<beta> fails", "\\<beta> fails"),
        // Text arrives decoded (see `domain::mrkdwn`): what was typed is what shows.
        ("5 < 6 && 7 > 3", "5 \\< 6 && 7 > 3"),
        ("<script>", "\\<script>"),
        ("typed &lt; itself", "typed \\&lt; itself"),
        ("a < b", "a \\< b"),
        (
            "*bold* _it_ ~gone~ `x`",
            "\\*bold\\* \\_it\\_ \\~gone\\~ \\`x\\`",
        ),
        ("```\ncode\n```", "\\`\\`\\`\\\ncode\\\n\\`\\`\\`"),
        ("> quoted", "\\> quoted"),
        ("# <https://x.example|x>", "\\# [x](https://x.example)"),
        ("<https://x.example|x> - y", "[x](https://x.example) - y"),
        (
            "look!<https://x.example/p.png|x>",
            "look\\![x](https://x.example/p.png)",
        ),
        ("wow! <https://x.example|x>", "wow! [x](https://x.example)"),
        ("\\!<https://x.example|x>", "\\\\\\![x](https://x.example)"),
    ] {
        assert_eq!(slack_to_markdown(input, &people), expected, "{input:?}");
    }
}

#[test]
fn links_are_built_only_for_web_and_mail_urls() {
    assert_eq!(
        markdown_link("run|book", "https://wiki.example/run book"),
        "[run\\|book](https://wiki.example/run%20book)"
    );
    assert_eq!(
        markdown_link("", "HTTPS://X.example"),
        "[HTTPS://X.example](HTTPS://X.example)"
    );
    assert_eq!(markdown_link("x", "javascript:alert(1)"), "x");
    assert_eq!(markdown_link("x", "https://"), "x");
    assert_eq!(markdown_link("# x", "ftp://f"), "\\# x");
}

#[test]
fn mermaid_names_cannot_end_a_task_or_the_fence() {
    for (input, expected) in [
        ("Incident commander", "Incident commander"),
        ("a: b; c#d", "a b c d"),
        ("```\n```", "-"),
        ("section X", "· section X"),
        ("Click me", "· Click me"),
        ("%% comment", "· %% comment"),
        ("<b>{x}</b>", "b x /b"),
        ("", "-"),
    ] {
        assert_eq!(mermaid_text(input), expected, "{input:?}");
    }
}

#[test]
fn escaped_text_reads_back_as_typed() {
    for input in [
        "# h\n- l\n> q\n1. o\n```\n<div>\n| a | b |\n|---|---|\n[x]: https://e\n***\nx\n===",
        "a_b *c* `d` ~e~ $f$ [g](h) ![i](j) <k> &amp; \\",
    ] {
        assert_eq!(visible(&escape_markdown(input)), normalized(input));
    }
}

/// Hostile fragments, so that generated text hits Markdown's syntax far more often than random
/// characters would.
fn hostile_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        4 => any::<char>().prop_map(String::from),
        2 => "[a-z_]{1,6}",
        6 => prop::sample::select(vec![
            "#", "## ", "```", "~~~", "`", "<script>", "</div>", "<!-- x -->", "|", "- ", "* ",
            "+ ", "1. ", "2) ", "> ", "[x](javascript:alert(1))", "![i](http://e/x.png)",
            "<http://x>", "&lt;", "&amp;", "&#60;", "&", ";", "\n", "\r\n", "\n\n", "    ", "\t",
            "_", "*", "**", "\\", "$", "$$", "---", "===", ": ", "[^1]", "[a]: http://x", "[[w]]",
            "]", "(", ")", "!", "[ ] ", "[x] ", "> [!NOTE]", " ", "é", "\u{a0}", "\u{2028}",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(fragment, 0..40).prop_map(|v| v.concat())
}

/// Slack mrkdwn fragments: mentions, links (good and bad), entities and stray brackets.
fn hostile_mrkdwn() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        3 => hostile_text(),
        4 => prop::sample::select(vec![
            "<@U1>", "<@U2>", "<@U3|carol>", "<#C1|general>", "<#C2>", "<!here>", "<!channel>",
            "<!subteam^S1|@oncall>", "<!date^1^x|today>", "<https://x.example/a b)|la]bel>",
            "<https://x.example>", "<mailto:a@b.example|mail>", "<javascript:alert(1)|click>",
            "<data:text/html,x|data>", "<", ">", "|", "&lt;", "&gt;", "&amp;", "&lt;b&gt;",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(fragment, 0..12).prop_map(|v| v.concat())
}

/// A `<` that is not escaped by an odd run of backslashes before it.
fn has_unescaped(text: &str, needle: char) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().any(|(i, &c)| {
        c == needle && chars[..i].iter().rev().take_while(|&&b| b == '\\').count() % 2 == 0
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn hostile_text_stays_text_and_keeps_its_characters(text in hostile_text()) {
        let out = escape_markdown(&text);
        prop_assert!(!out.lines().any(|l| l.trim_start().starts_with('#')), "{out:?}");
        prop_assert!(!has_unescaped(&out, '<'), "{out:?}");
        prop_assert!(!out.contains("```") && !out.contains("~~~"), "{out:?}");
        prop_assert_eq!(visible(&out), normalized(&text));
    }

    #[test]
    fn the_fast_path_agrees_with_the_escaper(text in prop_oneof![hostile_text(), ".*", "[a-zA-Z0-9 .,:;!?()/é→-]*"]) {
        if !needs_escaping(&text) {
            let pieces = || split_lines(vec![Piece::Text(text.clone())]);
            prop_assert_eq!(&render(pieces(), Layout::Line), &text);
            prop_assert_eq!(&render(pieces(), Layout::Block(2)), &text);
        }
    }

    #[test]
    fn plain_text_takes_a_shortcut_to_the_same_result(text in prop_oneof![hostile_text(), ".*"]) {
        let pieces = || split_lines(vec![Piece::Text(text.clone())]);
        prop_assert_eq!(render_plain(&text, Layout::Line), render(pieces(), Layout::Line));
        prop_assert_eq!(render_plain(&text, Layout::Block(2)), render(pieces(), Layout::Block(2)));
    }

    #[test]
    fn hostile_text_on_one_line_stays_one_line(text in hostile_text()) {
        let out = escape_markdown_line(&text);
        prop_assert!(!out.contains('\n'), "{out:?}");
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        prop_assert_eq!(words(&visible(&out)), words(&normalized(&text)));
    }

    #[test]
    fn any_text_stays_text(text in ".*") {
        let out = escape_markdown(&text);
        prop_assert_eq!(visible(&out), normalized(&text));
    }

    #[test]
    fn indented_text_stays_in_its_list_item(text in hostile_text()) {
        let item = format!("- {}\n", escape_markdown_indented(&text, 2));
        let events: Vec<_> = Parser::new_ext(&item, options()).collect();
        let items = events.iter().filter(|e| matches!(e, Event::Start(Tag::Item))).count();
        let lists = events.iter().filter(|e| matches!(e, Event::Start(Tag::List(_)))).count();
        prop_assert!(normalized(&text).is_empty() || (items == 1 && lists == 1), "{item:?}");
    }

    #[test]
    fn slack_text_links_only_where_slack_did(text in hostile_mrkdwn()) {
        let out = slack_to_markdown(&text, &people());
        prop_assert!(!has_unescaped(&out, '<'), "{out:?}");
        // `visible` fails on any structure but text and http(s)/mailto links.
        visible(&out);
        let links = Parser::new_ext(&out, options())
            .filter(|e| matches!(e, Event::Start(Tag::Link { .. })))
            .count();
        let slack_links = ["<https://", "<http://", "<mailto:"]
            .iter()
            .map(|s| text.matches(s).count())
            .sum::<usize>();
        prop_assert!(links <= slack_links, "{out:?}");
    }

    #[test]
    fn links_never_leave_their_parentheses(label in ".*", path in ".*") {
        let out = markdown_link(&label, &format!("https://x.example/{path}"));
        let events: Vec<_> = Parser::new_ext(&out, options()).collect();
        let links = events.iter().filter(|e| matches!(e, Event::Start(Tag::Link { .. }))).count();
        prop_assert_eq!(links, 1, "{:?}", out);
        prop_assert!(!out.contains('\n'));
    }

    #[test]
    fn mermaid_names_are_one_plain_line(text in hostile_text()) {
        let out = mermaid_text(&text);
        prop_assert!(!out.is_empty());
        prop_assert!(!out.contains(['\n', '\r', ':', '#', ';', '`']), "{out:?}");
    }
}

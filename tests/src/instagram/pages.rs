//! The HTML shells and their scripts. Every shell is the same few bytes of
//! markup plus a script; posts, captions, user names, likes and images exist
//! only in the JSON the script fetches and the DOM it builds. Class names and
//! attributes follow SOURCES.md: login `#loginForm` with `username` /
//! `password`; grid thumbnails `<a href="/p/<code>/"><img alt=caption>`;
//! user name `span._ap3a._aaco._aacw._aacx._aad7._aade`; the post date is
//! the last `time[datetime]`; carousel next button `._afxw._al46._al47`;
//! the suspicious-activity popup `.wbloks_1` with a `Dismiss` button. Pure.

/// JSON for embedding in a `<script type="application/json">` block.
fn embed(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c")
}

fn shell(title: &str, ctx: &serde_json::Value, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title>\
         <style>article.grid-item{{height:320px}} #loader{{height:60px}}</style></head>\
         <body><div id=\"react-root\"></div>\
         <script type=\"application/json\" id=\"ctx\">{ctx}</script>\
         <script>\nconst CTX = JSON.parse(document.getElementById('ctx').textContent);\n\
         const root = document.getElementById('react-root');\n\
         function el(tag, attrs, ...kids) {{ const e = document.createElement(tag); \
         for (const [k, v] of Object.entries(attrs || {{}})) {{ if (k === 'text') e.textContent = v; \
         else e.setAttribute(k, v); }} for (const k of kids) e.appendChild(k); return e; }}\n\
         function popup() {{ const d = el('div', {{class: 'wbloks_1', role: 'dialog'}}, \
         el('h2', {{text: 'We suspect automated behavior on your account'}}), \
         el('p', {{text: 'To prevent your account from being temporarily restricted, please confirm it is you.'}}), \
         el('button', {{'aria-label': 'Dismiss', text: 'Dismiss'}})); root.appendChild(d); }}\n\
         {script}\n</script></body></html>",
        title = crate::html::esc(title),
        ctx = embed(ctx),
    )
}

const LOGIN_JS: &str = r#"
const form = el('form', {id: 'loginForm', method: 'post'},
  el('input', {name: 'username', 'aria-label': 'Phone number, username, or email', type: 'text'}),
  el('input', {name: 'password', 'aria-label': 'Password', type: 'password'}),
  el('button', {type: 'submit', disabled: '', text: 'Log in'}));
const alert = el('div', {id: 'slfErrorAlert', role: 'alert'});
alert.hidden = true;
root.appendChild(el('main', {role: 'main'}, form, alert));
const button = form.querySelector('button');
form.addEventListener('input', () => {
  button.disabled = !(form.username.value && form.password.value.length >= 6);
});
form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = new URLSearchParams({username: form.username.value, password: form.password.value});
  const r = await fetch('/api/v1/web/accounts/login/ajax/', {method: 'POST', body, credentials: 'same-origin'});
  const j = await r.json().catch(() => ({}));
  if (j.authenticated) {
    location.href = CTX.next || '/';
  } else {
    alert.textContent = j.message || 'Sorry, your password was incorrect. Please double-check your password.';
    alert.hidden = false;
  }
});
"#;

/// `/accounts/login/`: the form, built by script; `next` is where a
/// successful login goes.
pub fn login(next: &str) -> String {
    shell(
        "Login • Instagram",
        &serde_json::json!({ "next": next }),
        LOGIN_JS,
    )
}

const TAG_JS: &str = r#"
if (CTX.challenge) { popup(); } else {
const grid = el('div', {class: 'grid'});
const loader = el('div', {id: 'loader', 'data-visualcompletion': 'loading-state', text: 'Loading…'});
root.appendChild(el('main', {role: 'main'}, el('header', {}, el('h1', {text: '#' + CTX.tag})), grid, loader));
let cursor = 0, loading = false, done = false;
async function more() {
  if (loading || done) return;
  loading = true;
  try {
    const r = await fetch('/api/v1/tags/web_info/?tag_name=' + encodeURIComponent(CTX.tag) + '&max_id=' + cursor, {credentials: 'same-origin'});
    if (r.status !== 200) { loader.textContent = 'Something went wrong (' + r.status + ')'; return; }
    const j = await r.json();
    for (const p of j.items) {
      grid.appendChild(el('article', {class: 'grid-item'},
        el('a', {href: '/p/' + p.code + '/'}, el('img', {src: p.thumbnail, alt: p.accessibility_caption}))));
    }
    if (j.items.length === 0 && cursor === 0) {
      grid.appendChild(el('div', {class: '_no_posts', text: 'Posts will appear here.'}));
    }
    if (j.more_available) { cursor = j.next_max_id; } else { done = true; loader.remove(); }
  } finally { loading = false; }
  const box = loader.getBoundingClientRect();
  if (!done && box.top < window.innerHeight) more();
}
new IntersectionObserver((entries) => { if (entries.some(e => e.isIntersecting)) more(); }).observe(loader);
}
"#;

/// `/explore/tags/<tag>/`: the grid shell. `challenge` shows the
/// suspicious-activity popup instead of posts.
pub fn tag(tag: &str, challenge: bool) -> String {
    shell(
        &format!("#{tag} hashtag on Instagram • Photos and videos"),
        &serde_json::json!({ "tag": tag, "challenge": challenge }),
        TAG_JS,
    )
}

const POST_JS: &str = r#"
if (CTX.challenge) { popup(); } else {
(async () => {
  const r = await fetch('/api/v1/media/' + CTX.code + '/info/', {credentials: 'same-origin'});
  if (r.status !== 200) { root.appendChild(el('p', {text: 'Sorry, this page isn\'t available.'})); return; }
  const p = await r.json();
  const list = el('ul', {class: '_acay'});
  const next = el('button', {class: '_afxw _al46 _al47', 'aria-label': 'Next', type: 'button', text: '›'});
  let shown = 0;
  function show() {
    list.appendChild(el('li', {class: '_acaz'}, el('div', {class: '_aagv'},
      el('img', {src: p.images[shown], alt: 'Photo ' + (shown + 1) + ' by ' + p.username}))));
    if (shown + 1 >= p.images.length) next.remove();
  }
  next.addEventListener('click', () => { shown += 1; if (shown < p.images.length) show(); });
  const likes = p.like_count === null
    ? el('section', {class: 'likes'}, el('span', {text: 'Liked by others'}))
    : el('section', {class: 'likes'}, el('a', {href: '/p/' + p.code + '/liked_by/'},
        el('span', {class: 'html-span', text: p.like_count.toLocaleString('en-US')}), document.createTextNode(' likes')));
  const comments = el('ul', {class: 'comments'}, ...p.comments.map(c =>
    el('li', {}, el('span', {text: c.text + ' '}), el('time', {datetime: c.at, text: c.at.slice(0, 10)}))));
  root.appendChild(el('main', {role: 'main'}, el('article', {},
    el('header', {}, el('a', {href: '/' + p.username + '/'},
      el('span', {class: '_ap3a _aaco _aacw _aacx _aad7 _aade', dir: 'auto', text: p.username}))),
    el('div', {class: 'carousel'}, list),
    likes, comments,
    el('div', {}, el('a', {href: '/p/' + p.code + '/'}, el('time', {class: 'x1p4m5qa', datetime: p.taken_at, text: p.taken_at.slice(0, 10)}))))));
  if (p.images.length > 1) root.querySelector('.carousel').appendChild(next);
  show();
})();
}
"#;

/// `/p/<code>/`: the post shell.
pub fn post(code: &str, challenge: bool) -> String {
    shell(
        "Instagram",
        &serde_json::json!({ "code": code, "challenge": challenge }),
        POST_JS,
    )
}

/// The page of a rate-limited request (HTTP 429).
pub const RATE_LIMITED: &str = "<!DOCTYPE html><html><body><p>Please wait a few minutes before you try again.</p></body></html>";

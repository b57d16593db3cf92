// Development only: an ESIA-style OpenID Connect provider for the Kontingent dashboards.
//
// The provider itself is the OpenID Certified npm package `oidc-provider`; this file only gives
// it a client (Superset), the demo people of people.json and a login page that checks the
// password. Production signs in through ESIA, never through this server.
//
// Environment:
//   OIDC_ISSUER          issuer URL (default http://127.0.0.1:$PORT); must be what browsers open
//   PORT, HOST           where to listen (default 9000 on 127.0.0.1)
//   OIDC_CLIENT_ID       Superset's client id (default kontingent-superset)
//   OIDC_CLIENT_SECRET   Superset's client secret (required)
//   SUPERSET_PUBLIC_URL  Superset's address; its /oauth-authorized/esia is the redirect URI
//   OIDC_DEV_PASSWORD    the password of every demo login (default: random, printed at start)
//   OIDC_PEOPLE_FILE     the demo people (default people.json beside this file)
//
// Like ESIA, it authenticates the person only: subject (OID), name, trust level. It issues no
// roles, organizations or OKTMO: Superset finds those in the warehouse for the OID.

import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';

const env = (name, fallback) => (process.env[name] || '').trim() || fallback;

const port = Number(env('PORT', '9000'));
const host = env('HOST', '127.0.0.1');
const issuer = env('OIDC_ISSUER', `http://127.0.0.1:${port}`).replace(/\/+$/, '');
const clientId = env('OIDC_CLIENT_ID', 'kontingent-superset');
const clientSecret = env('OIDC_CLIENT_SECRET');
const supersetUrl = env('SUPERSET_PUBLIC_URL', 'http://127.0.0.1:8088').replace(/\/+$/, '');
const peopleFile = env(
  'OIDC_PEOPLE_FILE',
  fileURLToPath(new URL('./people.json', import.meta.url)),
);

if (!clientSecret) {
  console.error('OIDC_CLIENT_SECRET is not set: the provider needs the secret it shares with Superset');
  process.exit(2);
}
let password = env('OIDC_DEV_PASSWORD');
if (!password) {
  password = randomBytes(9).toString('base64url');
  console.log(`development password of every demo login: ${password}`);
}

const people = JSON.parse(readFileSync(peopleFile, 'utf8')).people;
const byLogin = new Map(people.map((p) => [p.login, p]));
const bySub = new Map(people.map((p) => [p.sub, p]));

function claimsOf(person) {
  return {
    sub: person.sub,
    name: [person.family_name, person.given_name, person.middle_name].filter(Boolean).join(' '),
    family_name: person.family_name,
    given_name: person.given_name,
    middle_name: person.middle_name,
    preferred_username: person.login,
    // like ESIA: the level of the person's account (упрощённая, стандартная, подтверждённая)
    trust_level: person.trust_level,
  };
}

// a fresh signing key at every start: nothing to keep, nothing to leak
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      client_name: 'Kontingent: аналитика',
      redirect_uris: [`${supersetUrl}/oauth-authorized/esia`],
      post_logout_redirect_uris: [`${supersetUrl}/`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    profile: ['name', 'family_name', 'given_name', 'middle_name', 'preferred_username'],
    // ESIA's level of the person's account; roles and scope are the warehouse's business
    kontingent: ['trust_level'],
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  jwks: { keys: [signingKey] },
  features: {
    devInteractions: { enabled: false }, // our own login page below checks the password
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page(
          'Выход — ЕСИА (учебный стенд)',
          `<h1>Выйти из ЕСИА?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Выйти</button>
<p class="note">После выхода для входа снова понадобится пароль.</p>`,
        );
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Выход выполнен', '<h1>Вы вышли из ЕСИА</h1>');
      },
    },
  },
  pkce: { required: () => true },
  ttl: { Session: 8 * 3600, Interaction: 3600, AccessToken: 3600, IdToken: 3600, Grant: 8 * 3600 },
  async findAccount(_ctx, sub) {
    const person = bySub.get(sub);
    if (!person) return undefined;
    return { accountId: sub, claims: async () => claimsOf(person) };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Ошибка входа', `<p class="error">${escapeHtml(out.error)}: ${escapeHtml(out.error_description || '')}</p>`);
  },
});

// -- the login page ---------------------------------------------------------------------------
function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font-family:system-ui,sans-serif;background:#eef2f8;margin:0;color:#0b1f33}
 header{background:#0d4cd3;color:#fff;padding:14px 24px;font-weight:600}
 main{max-width:420px;margin:40px auto;background:#fff;border-radius:8px;padding:28px 32px;box-shadow:0 2px 10px #0b1f3320}
 h1{font-size:22px;margin:0 0 6px} .note{color:#66727f;font-size:13px}
 label{display:block;margin:16px 0 4px;font-size:14px} input{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #c1c9d4;border-radius:4px}
 button{margin-top:22px;width:100%;padding:12px;font-size:16px;background:#0d4cd3;color:#fff;border:0;border-radius:4px;cursor:pointer}
 .error{color:#b00020;background:#fdecee;padding:8px 10px;border-radius:4px} code{font-size:13px}
</style></head>
<body><header>ЕСИА · учебный стенд (только для разработки)</header><main>${body}</main></body></html>`;
}

function loginForm(uid, clientName, { error, login } = {}) {
  const logins = people.map((p) => `<code>${escapeHtml(p.login)}</code>`).join(', ');
  return page(
    'Вход — ЕСИА (учебный стенд)',
    `<h1>Вход</h1>
<p class="note">для доступа к системе «${escapeHtml(clientName)}»</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
 <label for="login">Телефон, почта или СНИЛС</label>
 <input id="login" name="login" value="${escapeHtml(login)}" required autofocus>
 <label for="password">Пароль</label>
 <input id="password" name="password" type="password" required>
 <button type="submit">Войти</button>
</form>
<p class="note">Демонстрационные учётные записи: ${logins}.</p>`,
  );
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
    if (chunks.reduce((n, c) => n + c.length, 0) > 64 * 1024) throw new Error('form too large');
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function samePassword(given) {
  const a = Buffer.from(String(given));
  const b = Buffer.from(password);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res, status, html) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Frame-Options': 'DENY',
  });
  res.end(html);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Ошибка', '<p class="error">Неверный запрос</p>'));
  const { prompt, params, session, grantId } = details;
  const client = await provider.Client.find(params.client_id);
  const clientName = client?.clientName || params.client_id;

  if (prompt.name === 'login') {
    if (req.method === 'GET' && !action) return send(res, 200, loginForm(uid, clientName));
    if (req.method === 'POST' && action === 'login') {
      const form = await readForm(req);
      const login = (form.get('login') || '').trim();
      const person = byLogin.get(login);
      if (!person || !samePassword(form.get('password') || '')) {
        console.log(`login refused: ${JSON.stringify(login)}`);
        return send(res, 200, loginForm(uid, clientName, { error: 'Неверные логин или пароль', login }));
      }
      console.log(`login: ${login} (sub ${person.sub})`);
      return provider.interactionFinished(
        req,
        res,
        { login: { accountId: person.sub, amr: ['pwd'] } },
        { mergeWithLastSubmission: false },
      );
    }
  }

  if (prompt.name === 'consent') {
    // Superset is the ministry's own client: grant what it asks without a consent screen
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const saved = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId: saved } }, { mergeWithLastSubmission: true });
  }

  return send(res, 400, page('Ошибка', '<p class="error">Неизвестный шаг входа</p>'));
}

const callback = provider.callback();
const server = createServer(async (req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login))?\/?(?:\?.*)?$/.exec(req.url);
  if (!match) return callback(req, res);
  try {
    await interaction(req, res, match[1], match[2]);
  } catch (err) {
    console.error(err);
    if (!res.headersSent) {
      send(res, 400, page('Ошибка входа', `<p class="error">Сеанс входа устарел или неверен: начните вход заново.</p>`));
    }
  }
});

server.listen(port, host, () => {
  console.log(`oidc-dev: issuer ${issuer}, listening on ${host}:${port}, client ${clientId}`);
  console.log(`oidc-dev: ${people.length} demo people from ${peopleFile}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

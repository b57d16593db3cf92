# syntax=docker/dockerfile:1
# Development only (docker compose --profile dev): the ESIA-style OpenID Connect provider whose
# code lives in superset/oidc-dev/ (the build context). Its package-lock.json pins every npm
# package; `npm start` serves on $PORT. Production signs in through ESIA itself.
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/oidc-dev
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY . .
USER node
EXPOSE 9000
CMD ["npm", "start"]

# Settle for users who have Docker (docker-compose.yml). The image has Node 24
# already; the `node` devDependency, typescript, ava and biome stay out (--omit=dev).
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY sql ./sql
COPY src ./src
USER node
EXPOSE 4000
CMD ["npm", "start"]

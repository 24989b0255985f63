from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "amenities" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "code" VARCHAR(64) NOT NULL UNIQUE,
    "name" VARCHAR(120) NOT NULL
);
CREATE TABLE IF NOT EXISTS "idempotency_keys" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "user_id" INT NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "request_hash" VARCHAR(64) NOT NULL,
    "response_status" INT,
    "response_body" JSONB,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_idempotency_user_id_bc4599" UNIQUE ("user_id", "key")
);
CREATE TABLE IF NOT EXISTS "locations" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(160) NOT NULL,
    "city" VARCHAR(120) NOT NULL,
    "address" VARCHAR(255) NOT NULL,
    "timezone" VARCHAR(64) NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "description" TEXT NOT NULL,
    "opening_hours" JSONB NOT NULL,
    "cancellation_policy" JSONB NOT NULL,
    "booking_rules" JSONB NOT NULL,
    "floors" JSONB NOT NULL,
    "active" BOOL NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_locations_city_00624a" ON "locations" ("city");
CREATE TABLE IF NOT EXISTS "closures" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "start_date" DATE NOT NULL,
    "end_date" DATE NOT NULL,
    "reason" VARCHAR(255) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "location_id" INT NOT NULL REFERENCES "locations" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "outbox" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "subject" VARCHAR(255) NOT NULL,
    "type" VARCHAR(64) NOT NULL,
    "location_id" INT,
    "space_id" INT,
    "user_id" INT,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "published_at" TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS "spaces" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(120) NOT NULL,
    "type" VARCHAR(32) NOT NULL,
    "capacity" INT NOT NULL,
    "hourly_price_cents" INT NOT NULL,
    "daily_price_cents" INT,
    "description" TEXT NOT NULL,
    "floor" INT NOT NULL,
    "x" INT NOT NULL,
    "y" INT NOT NULL,
    "width" INT NOT NULL,
    "height" INT NOT NULL,
    "active" BOOL NOT NULL,
    "location_id" INT NOT NULL REFERENCES "locations" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_spaces_type_aa7fe3" ON "spaces" ("type");
CREATE TABLE IF NOT EXISTS "stripe_events" (
    "id" VARCHAR(128) NOT NULL PRIMARY KEY,
    "type" VARCHAR(128) NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS "users" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "email" VARCHAR(254) NOT NULL UNIQUE,
    "password_hash" VARCHAR(255) NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "is_active" BOOL NOT NULL,
    "stripe_customer_id" VARCHAR(64)
);
CREATE INDEX IF NOT EXISTS "idx_users_role_35db31" ON "users" ("role");
CREATE TABLE IF NOT EXISTS "audit_log" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "action" VARCHAR(64) NOT NULL,
    "entity" VARCHAR(64) NOT NULL,
    "entity_id" VARCHAR(64) NOT NULL,
    "location_id" INT,
    "before" JSONB,
    "after" JSONB,
    "at" TIMESTAMPTZ NOT NULL,
    "actor_id" INT REFERENCES "users" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_audit_log_entity_4c32c6" ON "audit_log" ("entity", "entity_id");
CREATE TABLE IF NOT EXISTS "bookings" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "starts_at" TIMESTAMPTZ NOT NULL,
    "ends_at" TIMESTAMPTZ NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "price_cents" INT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "expires_at" TIMESTAMPTZ,
    "deadline_at" TIMESTAMPTZ,
    "checked_in_at" TIMESTAMPTZ,
    "cancel_reason" VARCHAR(32),
    "location_id" INT NOT NULL REFERENCES "locations" ("id") ON DELETE RESTRICT,
    "space_id" INT NOT NULL REFERENCES "spaces" ("id") ON DELETE RESTRICT,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_bookings_space_i_df3e9d" ON "bookings" ("space_id", "starts_at");
CREATE INDEX IF NOT EXISTS "idx_bookings_user_id_e3defd" ON "bookings" ("user_id", "starts_at");
CREATE INDEX IF NOT EXISTS "idx_bookings_locatio_c97231" ON "bookings" ("location_id", "starts_at");
CREATE TABLE IF NOT EXISTS "kiosk_devices" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(120) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "revoked_at" TIMESTAMPTZ,
    "last_seen_at" TIMESTAMPTZ,
    "created_by_id" INT REFERENCES "users" ("id") ON DELETE SET NULL,
    "location_id" INT NOT NULL REFERENCES "locations" ("id") ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS "notifications" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "booking_id" BIGINT,
    "type" VARCHAR(64) NOT NULL,
    "title" VARCHAR(255) NOT NULL,
    "body" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "read_at" TIMESTAMPTZ,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_notificatio_user_id_8d780e" ON "notifications" ("user_id", "created_at");
CREATE TABLE IF NOT EXISTS "payments" (
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "id" SERIAL NOT NULL PRIMARY KEY,
    "stripe_payment_intent_id" VARCHAR(128) NOT NULL UNIQUE,
    "client_secret" VARCHAR(255) NOT NULL,
    "amount_cents" INT NOT NULL,
    "refunded_cents" INT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "status" VARCHAR(32) NOT NULL,
    "booking_id" BIGINT NOT NULL REFERENCES "bookings" ("id") ON DELETE RESTRICT,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE RESTRICT
);
CREATE TABLE IF NOT EXISTS "refresh_tokens" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "family_id" UUID NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "used_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "user_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_refresh_tok_family__59d0e5" ON "refresh_tokens" ("family_id");
CREATE TABLE IF NOT EXISTS "refunds" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "stripe_refund_id" VARCHAR(128) NOT NULL UNIQUE,
    "amount_cents" INT NOT NULL,
    "reason" VARCHAR(255) NOT NULL,
    "status" VARCHAR(32) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "created_by_id" INT REFERENCES "users" ("id") ON DELETE SET NULL,
    "payment_id" INT NOT NULL REFERENCES "payments" ("id") ON DELETE RESTRICT
);
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS "space_amenity" (
    "spaces_id" INT NOT NULL REFERENCES "spaces" ("id") ON DELETE CASCADE,
    "amenity_id" INT NOT NULL REFERENCES "amenities" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS "uidx_space_ameni_spaces__6deabb" ON "space_amenity" ("spaces_id", "amenity_id");
CREATE TABLE IF NOT EXISTS "location_manager" (
    "users_id" INT NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
    "location_id" INT NOT NULL REFERENCES "locations" ("id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS "uidx_location_ma_users_i_187f1f" ON "location_manager" ("users_id", "location_id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXVtv2zgW/iuBn7qAt0icNM0sFgvk1pls02SQOruDKQpBlmiba1ny6JLGO5v/vqSuFE"
    "UqkmzZEnNeehF5ZOk7FHnu58/B0jGR5b0/XyIb++vB3w7+HNj6EpF/8EPDg4G+WmUD9IKv"
    "T6xwrh5Owii8qk8839UNnwxMdctD5JKJPMPFKx87NrlqB5ZFLzoGmYjtWXYpsPEfAdJ8Z4"
    "b8OXLJwLfv5DK2TfRMbh7/d7XQphhZZu5xsUl/O7yu+etVeO3G9j+FE+mvTTTDsYKlnU1e"
    "rf25Y6ezse3TqzNkI1f3Eb297wb08enTxa+avFH0pNmU6BEZGhNN9cDymdedaNm1gabd3Y"
    "+1r9djTRvUAMhwbAoueVQvfPsZfYS/jo5OPp6cHZ+enJEp4WOmVz6+RD+dARMRhvDcjQcv"
    "4bju69GMEOMMVIOwugjr5Vx3xbgm8zlkySPzyCY4dhfapf6sWcie+XPy39OTEhz/df5w+c"
    "v5w7vTk7/QH3TI4o8+i7t4ZBQOUagzaMO/a0CbzN8OtMmFDNvsU905uEejwwrokllSeMOx"
    "lxe6OUwXzEqmFya6sfihu6ZWGHFGjmxucWg5Wgo/EW+lG9G+l+fkF91ejx36Z8jPG/L+um"
    "2IWBhvtF/pjXr3mbwk6zS5mv1++F4ad5ykb+kii75jOp47QqaOG7JhgdYZxlq0a6c8igcj"
    "wnU86s9dJ5jNUypNz84vgjl5BuRHX9r518vzq2t6XeO3/HAhLXVbn4WX6Ju/DLMTMTCxf2"
    "37rvi8zEbLj0w6T7OcWetH5rcBsv0YguhfFKvvtU7SCzx7K4fpT6PR8fHH0eHx6dmHk48f"
    "P5wdpqdqcajseL24+ZmesLkt6/Ujl6wC+tw1ToaMQsGzYfsHb/YxVAU4owCAKwOsibaR1z"
    "DWhHsJwCyC2XIMnT6TEGjpZs1Rvb5rC5CON+XOAL0VJSgDdoKI+CGQzf/59f5ODGpGweFp"
    "YsM/+N+Bhb0e4loCGoWC3nnpeX9Y7EJ99+X8N34NX97eX4TYOJ4/c8O7hDe44HDXpz5y68"
    "CeEgDqG6DuFyG/Imj5eIkksPsizGOS98k/+rhju0g3721rHa+KElaMb75cfx2ff/k1x4+r"
    "8/E1HRmFV9fc1XenHI/Smxz8+2b8ywH978Hv93fXPNvSeePfB/SZ9MB3NNv5oekmIyMnVx"
    "PU8lw2fMetd1KwJHBMRMdEwcDAIVyE9xM5GPDM/oyqmgEePVRF2ukYuCVmAFf/kSqZuUWV"
    "U8fJAxzcPd7eDl5as9mUKvUXjrOIXrCg0SdDwzJ1fhJNat8A/i22a0QYktXk+p5GtmQy7d"
    "sgIItHPMLJfcwo2AE6aQcwyGFE7WP1z+c8JZzTfTqng5XZkOt5SuB6V7ieYMSwPX56xoeQ"
    "7sY1mZ4jVJDn/eVx8dNGttmExQwZMLjTDCYfox8IPIFyo2dGoaDF8+i0ilOXZxjj0z3lLZ"
    "4rFxPB10D05wooS8VSjqqRKts5pLds8jQC10W2UcsrwtIouHyPK6zeY+niPS44RZ5XmOw1"
    "TQ6AHOUWzoBumg6UOAJMIqJa2EYN2MyRAp+7zGdjjowFUbaw3UQ/54mB153mNbXXWhrRPr"
    "16cRkFwkanZMc4yx2Soyqn5Eh+TI6649XunDiyZRmPNRtXhJUlAUwFmDL29oqQMhSA6Ote"
    "NS8JF93Qq9Y4uLYbB+mrfjX2S8351R7I+fdwczkeCHfZLSB7y9xKUXC506UCvoEnimRpyx"
    "fcV1yZvVCCqdwXzFiF9PVSbBK6iCk/fX6gwebiINkY6l+juyiE9kub7vJLy/ECFw0E7vJk"
    "aFjmLjeiSZAvpla+WOiP0qjeKlaKS7xYKVWZNtzfz1OEJ1VvC7HTZm34WJo3DV59FX1D3b"
    "wRXINBWx93TjUfffhQQTcns6TKeTjG+QkgKEWx8IQqQSlgk9mRtgtq2WBLalmS3bmnaNIb"
    "Ey1Xjk/do5+RME2Um1EqLONsLk16bUFozkWO0rza75uI0RAkSsd2ESQK9sdtW3QXqFYQRD"
    "xdwfiHVuRHF5E39XxtrnvzenJ6nk5BvLefIEoEwBX5RaTJAtOkm4SAEjKAintFCtPEMQW7"
    "hjxxsUAICYzNExhBJ5UveHV10g7F03WN6z3hsjT4pqAg70eH+4wdb3GFnrAhdHOww8My7W"
    "1BJxIu05ng71DL3wFF3LZfxI3d5X1ngeza2kKeCmoRvqopgAj1FkUoFz05i0Zcz1NC+HLX"
    "JKic80b3fM1DqEmkOk8LnO4yp5O9eCKuvSYV9gp0YOsp2nrABwo+0L76QMWbxBYAVrtWUW"
    "Ff7FTBonRxC2wT7MKXGyaStQNGCbWMEqDNyaFXV5uDykGqcV0g9BcqB4EBkqk3UskAeVpi"
    "gDwtGCCNmqXCjZYLhe/P6tiKfZcsdPIt1KqZw5AouIhbibqh2/Z/HbvWRsHSKIhzCzb03p"
    "TQGVw/Pgx2gvKWa+iwz1RAeYyeJXoDR6ZApkeZAHP92zgnuxRCbFL55fb+7udkOh93kwfe"
    "WSGbPI82dwJXsFnLA50KhBsFOjVjwt+ngR12SDmYBNjyse29pz/7jz0wp534p7DMSJTfqq"
    "0cC4v2IDmLJOTdYBT9PWUYFZeI1tzAEjUMK2kvwRN2gzlKfUVTy3Hq7W0ZRTfYodS3Qnta"
    "PQkE1gvHsZBuS1SDlIjjCPmArLZYkWhkuwX94v7+Ngf6xQ1/jj9+ubgmClnIATIJR2Zrif"
    "+lSqEFtsQ9x5UahRaYavo90yCkhRZypzFT2KA5SEwNBRVBCkMiN4SIi79UESZZa9E6MKlW"
    "+GjTqiaMryz0rInO/NqtW5vW6elV59bkJfnGrbGHUsu5E7kGrjTrUNa/lXNhMw1c05GYVe"
    "EBt50erneOj6dY7kHNjQ/LvKg2M3MX3V+YBE7GXQddXLqZoJuobnW5kKdTKCBrJ/xgTN8U"
    "sgLyJWbveD6YvCuYvH3sWzWdCjGBgvC24rkRJ5bKTd2SfFKwcb9u46ZbeB3zTzK/G8YfpW"
    "xxEMAk33P6GcpSLR1Fb5aLokMiSvcilQQBalCrpt3IeSg6XCWqW1Z0eM8Vw+4Df+I8DwSm"
    "iHhkWGaEcLI5nYnjBiPDrowMXjD5DzIEJ2dJ57mMBHSxilF0YEpoz5Swv/S6jkl8KnR9UR"
    "zS3QuyigO60teWowsAlVtfGJLdG2D2o/CBqQVMLbl5zU0tq2BCvo95I77ztGB06ZrRpUZw"
    "V5sabdJRR6DSMs125Dot29enO1rtW1FpITsZThzITgaub5SdTN98hbR4J9fIG4d/CbbVEk"
    "tVyT2UK+13NDqrlGR7VpJke1bITLQwhcxDZAOtZSQsECoQVrADQ6G+dAICmyFuSigVIHgy"
    "cHkJS65PA/ImZm10i4S7w/ewJ+D2J4V5ZxvyljOYZZ0Yyo4/SQeGNjdf2m4jrJG+yhS1HW"
    "C99Wbye4y+7dyy3kv4LcR8tBzzMcmy6TYM+1AvL2/IRX7kv2ro4t1yQE29Lt6RfLZhsttD"
    "eBOFsG61hzdBi5zx8zGtlj8QWGlz48MyU60bzdTCwvtgsFXLYAs9GHYSATPVl9gSV+5+fL"
    "y5EqOcI+JADgJsvqek29kP95CaKsI2UgIimyZrrQxflOulDi2iVHVxclJaI7+CBy7sXvAX"
    "2pS8BS6DW1guefTTQVjJLQz2IcgJ6q4JY885QbE5Q6yax4aOUqU8saiANt6r73lYoo3H4R"
    "ARc5uFUuRoldPMWwmhAJd+my593RMVdJav44wCAlKqBKT0xOu8QrYZe6D66GwGDUYOvboa"
    "DDRdbDcxbCmLGJUimyeCI/d1JZGJ8tlQT2QSO3oGcVVVMb+6KgQRQMNFRRouRpV0Bcp4Wm"
    "JXrotnlXxBFe/VrjksUcVB4HuLAh9kMqnG9SqZTNBnsd1GgF0rrrM/+2ULhgmdSB/CPpZy"
    "7ZQh2Z0GddRpQSADlHYzs9baysUGqm0TFhNDMhIPsqnjxhgLacHAIgAZOirup9p02Dysxo"
    "pO58NGwa/h5xowPgOEIgjriAY7lgn6AuEPbPqCAHkpjOl8EK8K4hXCs7lAu5aLVCkBgMmD"
    "CY0Uy0/3DRspdqOGaecMBu36qxLItuBQuWVu1TOQq3pVuAW2QY4mNAAVI769noTkLxv7WN"
    "T0sXZTwvPwXusmOPeqLyHznnxrQqaBZr4fYYRz4mbkOxJGZMV+hFFhZD37vUrNCCMXQrlr"
    "MQzMvH6SlEtkh4elbsYowBM9da9uotyUC3Gow1fiUEtycztmNt+rW6KFuF8XGYhIws2Sz3"
    "Kk4O7rirtP5uQtCJz7CTMJQ3wEh0AS+iPf/cMmu93a9SHGBGJMYPuBGJM3z/UqMSZoqWOr"
    "jjSXEignPI8+VKmvQmaVpMEUKqysdM/74ZDzuW4tmwKhguJzK4lHEDXVbtSU61i18E3m7y"
    "xqarBEy0kkt+4A4tMqCPMbPAPwKY8v9rRG/pMcHbhQqrtQYgOWEXi+s5SUhng1v5mjbrTY"
    "uxb300LxsRr6LmOgDkzsa8gmjysyUtfxA5zTW12TO1UxUXeMH1JPgKD6MLhLykBaYMdbeF"
    "qsrW4G1Wd6ryv0hI3+FnMqR8t2fDzFkT9vw3V1x9xK1cXFtpBqjpR6SY2cjZsv3tocKr5k"
    "rKJ40bo62lI3RXJhG+WK+7JVbc0PHlvHtSR2YRv+8E1CPXrlEGdflPeIR8C6Ip84FyfCO8"
    "VD70LRJ55SxXfeplv8HLnYmA8EzpB4ZFjmDtGzOeAP2dVabdsf8kQWoTDyS64VMiQK2pXa"
    "6WBFPqoaCMfTFUT36LCS1e6wxGp3WLDakV/0heU25O2uGRJod12z3fVe/fov/weJODTk"
)

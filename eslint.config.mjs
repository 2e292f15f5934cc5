// ESLint 9 flat configuration for the Odoo 19 ES modules of pos_compago (static/src, static/tests).
//
// The packages live outside the repository, in $POS_COMPAGO_CACHE/node (tools/lint/install.sh),
// where a static `import` would not find them: they are resolved next to this file, then in
// NODE_PATH, then in the lint cache.
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const cache =
    process.env.POS_COMPAGO_CACHE ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "pos_compago");
const load = (name) => require(require.resolve(name, { paths: [here, path.join(cache, "node")] }));
const js = load("@eslint/js");
const globals = load("globals");

// Globals that Odoo's asset bundles provide to every module.
const odooGlobals = {
    odoo: "readonly",
    owl: "readonly",
    luxon: "readonly",
    Chart: "readonly",
    DOMPurify: "readonly",
    QUnit: "readonly",
};

export default [
    {
        ignores: [
            "**/node_modules/**",
            "**/static/lib/**",
            "**/static/src/lib/**",
            "**/*.min.js",
            "i18n/**",
        ],
    },
    js.configs.recommended,
    {
        files: ["**/*.js", "**/*.mjs"],
        languageOptions: {
            ecmaVersion: 2024,
            sourceType: "module",
            globals: {
                ...globals.browser,
                ...odooGlobals,
            },
        },
        linterOptions: {
            reportUnusedDisableDirectives: "error",
        },
        rules: {
            // Same spirit as Odoo's own web/tooling/_eslintrc.json.
            "no-undef": "error",
            "no-unused-vars": [
                "error",
                { vars: "all", args: "none", ignoreRestSiblings: false, caughtErrors: "none" },
            ],
            "no-restricted-globals": ["error", "event", "self"],
            "no-console": ["error", { allow: ["warn", "error"] }],
            "no-debugger": "error",
            "no-alert": "error",
            "no-eval": "error",
            "no-implied-eval": "error",
            "no-new-func": "error",
            "no-duplicate-imports": "error",
            "no-var": "error",
            "prefer-const": ["error", { destructuring: "all", ignoreReadBeforeAssign: true }],
            "no-unneeded-ternary": "error",
            "no-useless-concat": "error",
            "no-useless-rename": "error",
            "no-throw-literal": "error",
            "no-self-compare": "error",
            "no-promise-executor-return": "error",
            "no-unmodified-loop-condition": "error",
            "require-atomic-updates": "off",
            eqeqeq: ["error", "smart"],
            curly: ["error", "all"],
            "object-shorthand": ["error", "always"],
            "prefer-template": "off",
            "arrow-body-style": ["error", "as-needed"],
            "no-restricted-syntax": ["error", "PrivateIdentifier"],
        },
    },
    {
        // Tour and unit tests (Hoot) of Odoo 19.
        files: ["static/tests/**/*.js"],
        rules: {
            "no-console": "off",
        },
    },
    {
        // Node-side files: this configuration and the Prettier one.
        files: ["eslint.config.mjs", "*.cjs"],
        languageOptions: {
            globals: { ...globals.node },
        },
    },
    {
        files: ["**/*.cjs"],
        languageOptions: { sourceType: "commonjs" },
    },
];

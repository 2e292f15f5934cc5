// Prettier configuration of pos_compago (JS, XML, SCSS/CSS, YAML, Markdown).
//
// Why .cjs and not .prettierrc.yml: the Node tools are installed outside the repository, in
// $POS_COMPAGO_CACHE/node (tools/lint/install.sh). A YAML file can only name the XML plugin, and
// Prettier 3 resolves a plugin name from the working directory, where there is no node_modules.
// Here the plugin is resolved next to this file, then in NODE_PATH, then in the lint cache.
const os = require("node:os");
const path = require("node:path");

const cache =
    process.env.POS_COMPAGO_CACHE ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "pos_compago");

/** @type {import("prettier").Config} */
module.exports = {
    plugins: [
        require.resolve("@prettier/plugin-xml", { paths: [__dirname, path.join(cache, "node")] }),
    ],
    printWidth: 100,
    tabWidth: 4,
    useTabs: false,
    semi: true,
    singleQuote: false,
    bracketSpacing: true,
    bracketSameLine: true,
    trailingComma: "es5",
    arrowParens: "always",
    endOfLine: "lf",
    // @prettier/plugin-xml. "preserve", not "ignore": "ignore" re-flows mixed content, e.g.
    // `<strong>Settings</strong>. Next` becomes `<strong>`, `Settings`, `</strong>`, `. Next` on
    // four lines, which changes the text Odoo renders (a space before the period). "preserve"
    // still re-indents element-only content (records, view archs) and keeps text as written.
    xmlWhitespaceSensitivity: "preserve",
    xmlSelfClosingSpace: true,
    xmlSortAttributesByKey: false,
    overrides: [
        {
            files: ["*.yml", "*.yaml", "*.json", "*.md"],
            options: { tabWidth: 2 },
        },
        {
            files: ["*.md"],
            options: { proseWrap: "preserve" },
        },
    ],
};

// Stylesheets are bundled by esbuild into the dashboard's one CSS file.
declare module '*.css';

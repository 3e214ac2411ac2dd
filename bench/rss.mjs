// Runs the CLI in this process and reports its peak RSS on stderr when it exits.
const [bin, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], bin, ...args];
process.on('exit', () => process.stderr.write(`maxrss=${process.resourceUsage().maxRSS}\n`));
await import(bin);

/** The port the egress gateway's proxy listens on: the gateway's configuration and every agent's HTTP_PROXY. */
export const PROXY_PORT = 3128;

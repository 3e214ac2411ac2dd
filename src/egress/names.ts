// Docker names of the gateway's objects: with a "." that no workspace entry's name can hold, so
// none collides with an agent's, a network's or a volume's (orx-WS-NAME).
export const gatewayNames = {
  container: (ws: string) => `orx-${ws}.egress`,
  uplink: (ws: string) => `orx-${ws}.egress-uplink`,
  link: (ws: string, agent: string) => `orx-${ws}.link-${agent}`,
};

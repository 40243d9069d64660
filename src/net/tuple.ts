import type { IpAddr } from './ip.js';

/** One flow's first packet, as the policy sees it (before NAT). */
export interface Tuple {
  src: IpAddr;
  dst: IpAddr;
  /** IP protocol number. */
  proto: number;
  /** Ports for TCP/UDP/SCTP/UDPLite; undefined otherwise. */
  sport?: number;
  dport?: number;
  /** ICMP/ICMPv6 type and code; undefined otherwise. */
  icmpType?: number;
  icmpCode?: number;
}

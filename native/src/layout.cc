// offsetof-generated layout table for the TypeScript/C++ agreement test.
#include "format.h"

namespace nv {
namespace fmt {

#define S(T) {#T, nullptr, sizeof(T)}
#define F(T, f) {#T, #f, offsetof(T, f)}
static const FieldLayout kLayout[] = {
    S(ImageHeader), F(ImageHeader, magic), F(ImageHeader, major), F(ImageHeader, minor), F(ImageHeader, flags),
    F(ImageHeader, totalLength), F(ImageHeader, crc32c), F(ImageHeader, headerSize), F(ImageHeader, sectionCount),
    F(ImageHeader, sectionEntrySize), F(ImageHeader, directoryOffset), F(ImageHeader, reserved),
    S(SectionEntry), F(SectionEntry, id), F(SectionEntry, recordSize), F(SectionEntry, offset), F(SectionEntry, length),
    F(SectionEntry, count),
    S(Config), F(Config, identitySetCount), F(Config, addrSetCount), F(Config, portSetCount), F(Config, transitIngressProg),
    F(Config, transitEgressProg), F(Config, noProfileMatchRule), F(Config, endpointToHostAction), F(Config, identityCount),
    F(Config, nodeCount),
    S(V6Addr), F(V6Addr, w),
    S(AddrClass), F(AddrClass, identity), F(AddrClass, portStart), F(AddrClass, portCount), F(AddrClass, epNode),
    F(AddrClass, hostNode), F(AddrClass, egressProg), F(AddrClass, ingressProg), F(AddrClass, epKind), F(AddrClass, flags),
    S(PortMember), F(PortMember, port), F(PortMember, proto), F(PortMember, setId),
    S(NodeRec), F(NodeRec, fwdEgressProg), F(NodeRec, fwdIngressProg),
    S(Program), F(Program, opStart), F(Program, opCount),
    S(Op), F(Op, opcode), F(Op, arg), F(Op, start), F(Op, count),
    S(TierBlock), F(TierBlock, v4Start), F(TierBlock, v4Count), F(TierBlock, v6Start), F(TierBlock, v6Count),
    F(TierBlock, endRule), F(TierBlock, endAction),
    S(ProfileBlock), F(ProfileBlock, v4Start), F(ProfileBlock, v4Count), F(ProfileBlock, v6Start), F(ProfileBlock, v6Count),
    F(ProfileBlock, missingRule),
    S(MatchRec), F(MatchRec, ruleId), F(MatchRec, action), F(MatchRec, flags), F(MatchRec, proto), F(MatchRec, notProto),
    F(MatchRec, icmpType), F(MatchRec, icmpCode), F(MatchRec, notIcmpType), F(MatchRec, notIcmpCode),
    F(MatchRec, addrTestStart), F(MatchRec, addrTestCount), F(MatchRec, dstSvcSet), F(MatchRec, srcPorts),
    F(MatchRec, srcNotPorts), F(MatchRec, dstPorts), F(MatchRec, dstNotPorts),
    S(AddrTest), F(AddrTest, setId), F(AddrTest, side), F(AddrTest, negate),
    S(PortList), F(PortList, rangeStart), F(PortList, rangeCount), F(PortList, namedStart), F(PortList, namedCount),
    S(PortRange), F(PortRange, first), F(PortRange, last),
    S(Failsafe), F(Failsafe, dir), F(Failsafe, proto), F(Failsafe, port),
    S(NatFrontend), F(NatFrontend, addr), F(NatFrontend, family), F(NatFrontend, proto), F(NatFrontend, port),
    F(NatFrontend, backendStart), F(NatFrontend, backendCount),
    S(NatBackend), F(NatBackend, addr), F(NatBackend, port), F(NatBackend, family),
    S(NatNodePort), F(NatNodePort, family), F(NatNodePort, proto), F(NatNodePort, port), F(NatNodePort, backendStart),
    F(NatNodePort, backendCount),
    S(RuleMeta), F(RuleMeta, tier), F(RuleMeta, name), F(RuleMeta, file), F(RuleMeta, line), F(RuleMeta, ruleIndex),
    F(RuleMeta, action), F(RuleMeta, kind), F(RuleMeta, column),
    S(IdentityRow), F(IdentityRow, setStart), F(IdentityRow, setCount),
    S(DBlock), F(DBlock, ruleStart), F(DBlock, ruleCount), F(DBlock, words), F(DBlock, srcBase), F(DBlock, dstBase),
    F(DBlock, srcSetStart), F(DBlock, srcSetCount), F(DBlock, dstSetStart), F(DBlock, dstSetCount),
    F(DBlock, sportStart), F(DBlock, sportCount), F(DBlock, dportStart), F(DBlock, dportCount),
    S(DRule), F(DRule, ruleId), F(DRule, matchIdx), F(DRule, action), F(DRule, verify),
    S(DSet), F(DSet, setId), F(DSet, listStart), F(DSet, posCount), F(DSet, negCount),
    S(DPort), F(DPort, key), F(DPort, row),
};
#undef S
#undef F

const FieldLayout* layoutTable(size_t* count) {
  *count = sizeof(kLayout) / sizeof(kLayout[0]);
  return kLayout;
}

}  // namespace fmt
}  // namespace nv

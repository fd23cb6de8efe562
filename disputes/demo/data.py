"""The demo's fixed tables: merchants, processors, customers, complaints and the paths cases take."""
from __future__ import annotations

DEFAULT_SEED = 20261120
# Carried by every demo case's description, so people (and queries) can tell them apart.
DEMO_TAG = "[演示 demo]"
PASSWORD_LENGTH = 16


# --- reference data ------------------------------------------------------------------------

# (name, payment business licence number, inquiry phone, promised response hours)
PROCESSORS = (
    ("银联商务", "Z2000131000013", "95534", 48),
    ("拉卡拉", "Z2000411000018", "95016", 48),
    ("通联支付", "Z2000331000011", "95156", 72),
    ("Sumpay", "Z2000133000013", "4008-888-000", 72),
    ("随行付", "Z2004311000014", "4000-919-900", 96),
)

# (name, acquirer code, area code, MCC, address, processor): the MID is the four codes and a sequence number.
MERCHANTS = (
    ("好又多超市 徐汇店", "102", "2900", "5411", "上海市徐汇区漕溪北路 88 号", "银联商务"),
    ("星巴克咖啡 南京西路店", "102", "2900", "5814", "上海市静安区南京西路 1376 号", "拉卡拉"),
    ("全家便利店 人民广场店", "103", "2900", "5499", "上海市黄浦区西藏中路 268 号", "通联支付"),
    ("海底捞火锅 王府井店", "103", "1000", "5812", "北京市东城区王府井大街 88 号", "银联商务"),
    ("中国石化加油站 五道口站", "105", "1000", "5541", "北京市海淀区成府路 28 号", "Sumpay"),
    ("屈臣氏 天河城店", "308", "5810", "5912", "广州市天河区天河路 208 号", "随行付"),
    ("如家酒店 西湖店", "308", "3310", "7011", "杭州市西湖区曙光路 15 号", "拉卡拉"),
    ("万达影城 春熙路店", "104", "6510", "7832", "成都市锦江区春熙路 9 号", "通联支付"),
)
TERMINAL_MODELS = ("新大陆 ME31", "联迪 A8", "百富 S90", "惠尔丰 VX520", "商米 P2")


# --- cases -----------------------------------------------------------------------------------

CUSTOMER_NAMES = (
    "张伟", "王秀英", "李娜", "刘洋", "陈杰", "杨静", "黄磊", "赵丽", "周涛", "吴敏",
    "徐婷", "孙浩", "胡军", "朱琳", "高峰", "林晓", "何欢", "郭靖", "马云飞", "罗婷",
    "梁宇", "宋佳", "郑爽", "谢娜", "韩雪", "唐嫣", "冯巩", "于谦", "董洁", "Emily Carter",
)
ISSUER_BINS = ("622202", "621700", "622848", "621226", "")
COMPLAINTS = (
    "POS 机显示交易失败，但银行卡已被扣款，后来用微信重新支付了一次。",
    "刷卡时终端提示“交易超时”，收银员让我再刷一次，结果被扣了两次钱。",
    "商户说没收到款，让我用现金付了，可是卡上显示扣款成功。",
    "加油时 POS 机断网，小票显示失败，短信却提示消费成功。",
    "终端黑屏重启后显示失败，账户余额已减少。",
    "The terminal said declined, but my card was charged anyway.",
)
REJECT_REASONS = (
    "经核实，收单机构记录交易成功，商户已确认收款并提供了服务。",
    "该笔交易已于次日自动冲正，款项已退回原卡。",
    "客户提供的交易信息与我行记录不符，且客户未能补充材料。",
)
STEP_NOTES = {
    "start_verification": "开始核实交易记录。",
    "request_customer_info": "请客户提供交易小票照片和扣款短信截图。",
    "customer_info_received": "客户已补充小票照片。",
    "confirm_debit": "核心系统确认扣款，收单记录为超时，联系商户。",
    "reversal_found": "对账发现冲正记录，款项已退回。",
    "merchant_refunded": "商户确认已原路退款。",
    "escalate_to_processor": "商户 48 小时未回复，转收单机构查询。",
    "back_to_merchant": "收单机构回复交易未清算，请商户协助退款。",
    "propose_refund": "扣款属实且未清算，建议全额退款。",
    "approve_refund": "同意退款。",
    "decline_refund": "退款金额需与商户核对后再提交。",
    "reject": "",
    "withdraw": "客户来电撤销投诉。",
    "close": "结案。",
    "reopen": "客户提供新证据，重新受理。",
}

# Who takes a step: the case's agent, any supervisor, a supervisor other than
# the refund's proposer, the customer, the call center or the system user.
AGENT, SUPERVISOR, APPROVER, CUSTOMER_ACTOR, CALL_CENTER, SYSTEM = (
    "agent", "supervisor", "approver", "customer", "call_center", "system")
START = ("start_verification", AGENT)
CONFIRM = ("confirm_debit", AGENT)
ESCALATE = ("escalate_to_processor", AGENT)
PROPOSE = ("propose_refund", AGENT)
APPROVE = ("approve_refund", APPROVER)
REJECT = ("reject", AGENT)
ASK = ("request_customer_info", AGENT)

# (how many cases, their path): fifty cases, every state at least three times.
CASE_PLANS: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = (
    (6, ()),                                                                            # submitted
    (3, (START,)),                                                                      # verifying
    (1, (START, REJECT, ("reopen", SUPERVISOR))),                                       # verifying, reopened
    (1, (START, PROPOSE, ("decline_refund", SUPERVISOR))),                              # verifying, refund declined
    (1, (START, ASK, ("customer_info_received", CUSTOMER_ACTOR))),                      # verifying, customer replied
    (3, (START, ASK)),                                                                  # awaiting_customer
    (1, (START, CONFIRM, ASK)),                                                         # awaiting_customer
    (3, (START, CONFIRM)),                                                              # merchant_contact
    (1, (START, CONFIRM, ("escalate_to_processor", SYSTEM), ("back_to_merchant", AGENT))),  # merchant_contact
    (1, (START, CONFIRM, ASK, ("customer_info_received", AGENT))),                      # merchant_contact
    (2, (START, CONFIRM, ESCALATE)),                                                    # processor_inquiry
    (1, (START, CONFIRM, ("escalate_to_processor", SYSTEM))),                           # processor_inquiry
    (1, (START, CONFIRM, ESCALATE, PROPOSE, ("decline_refund", SUPERVISOR))),           # processor_inquiry
    (2, (START, CONFIRM, PROPOSE)),                                                     # refund_pending
    (1, (START, ("propose_refund", SUPERVISOR))),                                       # refund_pending
    (3, (START, CONFIRM, PROPOSE, APPROVE)),                                            # refunded
    (1, (START, CONFIRM, ESCALATE, ("propose_refund", SUPERVISOR), APPROVE)),           # refunded
    (2, (START, ("reversal_found", SYSTEM))),                                           # resolved
    (1, (START, ("reversal_found", AGENT))),                                            # resolved
    (2, (START, CONFIRM, ("merchant_refunded", AGENT))),                                # resolved
    (1, (START, REJECT, ("close", AGENT), ("reopen", SUPERVISOR), CONFIRM, ("merchant_refunded", AGENT))),  # resolved
    (2, (START, REJECT)),                                                               # rejected
    (1, (START, CONFIRM, ESCALATE, REJECT)),                                            # rejected
    (1, (("withdraw", CUSTOMER_ACTOR),)),                                               # withdrawn
    (1, (START, ("withdraw", CALL_CENTER))),                                            # withdrawn
    (1, (START, ASK, ("withdraw", CUSTOMER_ACTOR))),                                    # withdrawn
    (2, (START, ("reversal_found", SYSTEM), ("close", SYSTEM))),                        # closed
    (2, (START, CONFIRM, PROPOSE, APPROVE, ("close", AGENT))),                          # closed
    (1, (START, REJECT, ("close", AGENT))),                                             # closed
    (1, (("withdraw", CUSTOMER_ACTOR), ("close", SYSTEM))),                             # closed
)


# --- what the API guide's examples name (docs/api.md): they work on the demo as written ----------

GUIDE_PROCESSOR = "银联商务"
GUIDE_MERCHANT = {"name": "好又多超市 漕宝路店", "merchant_id": "103287654110281",
                  "address": "上海市徐汇区漕宝路 36 号", "contact_name": "周明 店长", "contact_phone": "021-64281234"}
GUIDE_TERMINAL = {"terminal_id": "41082857", "model": "新大陆 ME31"}
# The complaint of the guide's §2, filed by the call center and withdrawn: the case of its webhook example (§10).
GUIDE_COMPLAINT = {
    "customer_name": "张三", "phone": "+8613800138000", "card_last4": "1234", "card_scheme": "unionpay",
    "amount": "128.50", "currency": "CNY", "transaction_at": "2026-11-20T14:03:00+08:00",
    "merchant_name": "好又多超市", "rrn": "100000000347", "stan": "508225", "auth_code": "340191",
    "description": "POS 显示交易失败，但银行卡被扣款。",
}
GUIDE_REFERENCE = "DD261120-7K3M9Q"

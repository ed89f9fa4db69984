//! Every text of the pages in Brazilian Portuguese.

use super::texts::{Text, Texts};
use crate::error::Reason;

pub static PT_BR: Texts = Texts {
    tag: "pt-BR",
    in_this_language: Text::new("Em português"),
    language_nav: Text::new("Idioma"),

    decimal_separator: ',',
    group_separator: '.',
    date: |f, at| {
        write!(
            f,
            "{:02}/{:02}/{}",
            at.day(),
            u8::from(at.month()),
            at.year()
        )
    },
    clock: |f, at| write!(f, "{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second()),

    description: Text::new(
        "Um contador de visitas no Redis ao lado de um log de acessos no PostgreSQL.",
    ),
    tagline: Text::new("Um cache e um banco de dados, lado a lado."),
    checks: Text::new("Verificações:"),

    page_title: Text::new("Tally: visitas e log de acessos"),
    reset_notice: Text::new("O contador de visitas foi zerado. O log de acessos foi mantido."),
    visits_heading: Text::new("Visitas"),
    in_redis: Text::new("no Redis"),
    access_heading: Text::new("Log de acessos"),
    in_postgres: Text::new("no PostgreSQL"),
    up: Text::new("no ar"),
    down: Text::new("fora do ar"),
    unavailable_gloss: Some(Text::new("indisponível")),
    answered_in: |f, took| write!(f, "Respondeu em {took}."),
    committed_in: |f, took| write!(f, "Gravado em {took}."),
    store_down: |f, (store, reason, took)| {
        write!(f, "O {store} está fora do ar: {reason} após {took}.")
    },
    store_error: |f, (store, reason)| write!(f, "O {store} respondeu com um erro: {reason}."),
    bug: |f, (store, reason)| {
        write!(
            f,
            "Um bug no Tally deixou o número do {store} fora da página: {reason}."
        )
    },
    visits_explain: Text::new(
        "Um contador guardado na memória: rápido, perdido quando o Redis reinicia e zerado pelo \
         botão abaixo.",
    ),
    reset_button: Text::new("Zerar as visitas"),
    reset_hint: Text::new(
        "Zera só este contador do Redis. O log de acessos mantém todas as linhas.",
    ),
    access_explain: Text::new(
        "Cada visualização da página já registrada, uma linha em disco para cada: o total se \
         mantém entre reinícios e nunca é zerado. Apagar linhas antigas (tally prune) não tira \
         as visualizações delas da conta.",
    ),
    recent_heading: Text::new("Acessos recentes"),
    recent_hint: Text::new(
        "As últimas linhas do log de acessos, das mais recentes para as mais antigas.",
    ),
    recent_empty: Text::new("Nenhum acesso ainda."),
    recent_unreadable: Text::new("Não é possível ler o log de acessos agora."),
    time_column: Text::new("Data e hora (UTC)"),
    browser_column: Text::new("Navegador"),
    browser_on: Text::new("no"),
    served_by: Text::new("Página servida por"),
    reason,

    error: Text::new("Erro"),
    status_title: |status| {
        Some(match status {
            403 => "Acesso negado",
            404 => "Página não encontrada",
            405 => "Método não permitido",
            411 => "Tamanho obrigatório",
            413 => "Requisição grande demais",
            431 => "Cabeçalhos grandes demais",
            500 => "Erro interno do servidor",
            503 => "Serviço indisponível",
            _ => return None,
        })
    },
    no_page: Text::new("Não há nenhuma página aqui. O contador fica na página inicial."),
    cross_origin_reset: Text::new(
        "O contador só pode ser zerado pela própria página do Tally. Nada foi alterado.",
    ),
    only_answers: |f, methods| write!(f, "Este endereço só responde a {methods}."),
    headers_too_large: Text::new("Os cabeçalhos da requisição são grandes demais."),
    length_required: Text::new("Envie um corpo com Content-Length, ou nenhum corpo."),
    body_too_large: Text::new("O corpo da requisição é grande demais."),
    store_did_not_answer: |f, reason| {
        write!(
            f,
            "Um banco de dados de que o Tally precisa não respondeu: {reason}."
        )
    },
    stores_come_back: Text::new(
        "Em geral, ele volta em poucos segundos. Tente de novo daqui a pouco.",
    ),
    internal_error: |f, reason| write!(f, "Algo deu errado no Tally: {reason}."),
    back_to_counter: Text::new("Voltar ao contador"),
};

/// Why a call to a store failed, in Portuguese.
fn reason(reason: Reason) -> &'static str {
    match reason {
        Reason::TimedOut => "tempo esgotado",
        Reason::LockTimedOut => "tempo esgotado à espera de um lock",
        Reason::ConnectionRefused => "conexão recusada",
        Reason::HostNotFound => "host não encontrado",
        Reason::ConnectionLost => "conexão perdida",
        Reason::AuthenticationFailed => "falha na autenticação",
        Reason::NoSuchDatabase => "o banco de dados não existe",
        Reason::TooManyConnections => "conexões demais",
        Reason::ShuttingDown => "desligando ou iniciando",
        Reason::QueryFailed => "falha na consulta",
        Reason::CommandFailed => "falha no comando",
        Reason::UnexpectedAnswer => "resposta inesperada",
        Reason::NotReachable => "inalcançável",
        Reason::TotalMissing => "o total de acessos sumiu",
        Reason::ReadBackWrong => "leu de volta um valor errado",
        Reason::NotAcceptingWrites => "não está aceitando gravações",
        Reason::WriterPanicked => "o gravador do log de acessos falhou",
        Reason::PageNotRendered => "não foi possível montar a página",
    }
}
